/*
 * deploy.c
 *		CALL migrate.deploy(target): an upgrade that commits after each
 *		revision.
 *
 * Each transaction takes the deploy lock again and re-reads the state, so no
 * lock outlives a transaction: safe behind transaction pooling, and a killed
 * client leaves nothing held.  A revision's SQL runs in a subtransaction; when
 * it fails, the subtransaction is rolled back, the failure is written to
 * migrate.history and committed, and then the original error is raised.
 */
#include "migrate.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

/*
 * Runs one revision's SQL in a subtransaction.  Returns NULL on success, or
 * the error (already rolled back and flushed) on failure.
 */
static ErrorData *
run_in_subtransaction(const char *sql, StepContext *sc)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);

	PG_TRY();
	{
		run_revision_sql(sql, sc);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();

	return edata;
}

/* What a deploy keeps from one of its transactions to the next. */
typedef struct DeployState
{
	char	   *target;
	int64		operation_id;
	int			done;
	MemoryContext deploy_cxt;	/* lives for the whole CALL */
	MemoryContext step_cxt;		/* reset after each revision */
	MemoryContext graph_cxt;	/* the kept graph and plan */
	char	  **pinned_ids;		/* the target, resolved in the first transaction */
	int			pinned_n;
	TargetKind	pinned_kind;
	Graph	   *kept_graph;
	StepPlan   *kept_plan;
	bool	   *in_plan;		/* per revision of kept_graph: a step of kept_plan */
	int			next_step;
	int			remaining;		/* steps of kept_plan not applied yet */
	char		last_hash[MIGRATE_HASH_HEXLEN + 1];	/* of the last row we wrote */
	int64		seen_id;		/* history rows up to this one are in kept_graph */
} DeployState;

/*
 * Brings the kept graph up to date with the history rows written since this
 * deploy last looked, when they only record revisions applied (or failed) by
 * other deployers: the kept plan then still holds, without those.  Returns
 * false when anything else happened (a registration, a downgrade, a stamp),
 * which needs a fresh plan.  Without this, deployers taking turns would each
 * reload the graph for every revision, quadratic in the graph's size.
 */
static bool
deploy_catch_up(DeployState *ds)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(ds->seen_id)};
	Graph	   *g = ds->kept_graph;
	bool		plan_holds = true;
	uint64		nrows;

	catalog_exec("SELECT h.operation, h.revision, h.success FROM migrate.history h"
				 " WHERE h.id > $1 ORDER BY h.id",
				 1, argtypes, values, NULL, false, 0);
	nrows = SPI_processed;
	for (uint64 i = 0; i < nrows && plan_holds; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *operation = SPI_getvalue(tuple, desc, 1);
		char	   *revision = SPI_getvalue(tuple, desc, 2);
		bool		isnull;
		bool		success = DatumGetBool(SPI_getbinval(tuple, desc, 3, &isnull));
		int			rev;

		if (strcmp(operation, "upgrade") != 0)
			plan_holds = false;
		else if (success)
		{
			rev = graph_find_id(g, revision);
			if (rev < 0)
				plan_holds = false;
			else if (!g->revs[rev].applied)
			{
				g->revs[rev].applied = true;
				if (ds->in_plan[rev])
					ds->remaining--;
			}
		}
		pfree(operation);
		pfree(revision);
	}
	SPI_freetuptable(SPI_tuptable);
	return plan_holds;
}

/* Ends a deploy's last transaction, which found nothing left to apply. */
static bool
deploy_finished(DeployState *ds, MemoryContext outer)
{
	if (ds->done == 0)
		notice_all_applied(true, ds->target);
	operation_end(OPERATION_CONNECTED);
	MemoryContextSwitchTo(outer);
	return false;
}

/*
 * Pins the target in the first transaction: a relative target ("+1") is
 * resolved once, since each later transaction would otherwise step again
 * from where the deploy has got to.
 */
static void
deploy_pin_target(DeployState *ds)
{
	Target	   *t = target_resolve(ds->kept_graph, ds->target);
	MemoryContext old = MemoryContextSwitchTo(ds->deploy_cxt);

	ds->pinned_kind = t->kind;
	ds->pinned_n = t->nrevs;
	ds->pinned_ids = palloc(sizeof(char *) * Max(t->nrevs, 1));
	for (int i = 0; i < t->nrevs; i++)
		ds->pinned_ids[i] = pstrdup(ds->kept_graph->revs[t->revs[i]].id);
	MemoryContextSwitchTo(old);
}

/*
 * Loads the graph and plans the deploy afresh, checking the registrant of
 * every step of the new plan before its first step commits.
 */
static void
deploy_replan(DeployState *ds)
{
	MemoryContext old;

	if (ds->graph_cxt != NULL)
		MemoryContextDelete(ds->graph_cxt);
	ds->graph_cxt = AllocSetContextCreate(ds->deploy_cxt, "migrate deploy graph",
										  ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(ds->graph_cxt);
	ds->kept_graph = graph_load(false);
	if (ds->pinned_ids == NULL)
		deploy_pin_target(ds);
	ds->kept_plan = plan_build(ds->kept_graph, OP_UPGRADE,
							   target_from_ids(ds->kept_graph, ds->pinned_kind,
											   ds->pinned_ids, ds->pinned_n),
							   ds->target);
	check_registrants(ds->kept_graph, ds->kept_plan);
	ds->in_plan = palloc0(sizeof(bool) * Max(ds->kept_graph->nrevs, 1));
	for (int i = 0; i < ds->kept_plan->nsteps; i++)
		ds->in_plan[ds->kept_plan->steps[i]] = true;
	ds->next_step = 0;
	ds->remaining = ds->kept_plan->nsteps;
	MemoryContextSwitchTo(old);
}

/*
 * Runs one revision in a subtransaction and records it.  A failure is
 * recorded and committed, then raised with its original error.
 */
static void
deploy_apply(DeployState *ds, Revision *r, AuditContext *ac, MemoryContext outer)
{
	StepContext sc = {"deploy", r->id, ds->done + 1, ds->done + ds->remaining, 0};
	char	   *sql;
	TimestampTz started_at;
	int64		duration_us;
	ErrorData  *edata;

	announce_step(&sc, r);
	sql = catalog_fetch_sql(r->id, false);
	started_at = GetCurrentTimestamp();
	edata = run_in_subtransaction(sql, &sc);
	duration_us = GetCurrentTimestamp() - started_at;

	if (edata != NULL)
	{
		audit_record(ac, r->id, false, unpack_sql_state(edata->sqlerrcode),
					 edata->message, started_at, duration_us, r->checksum, NULL);
		operation_end(OPERATION_CONNECTED);
		MemoryContextSwitchTo(outer);
		SPI_commit();
		ReThrowError(edata);
	}

	/* applied_at and applied_by are the history row's: verify() compares them */
	catalog_set_applied(r->id, r->checksum, started_at, ac->effective_role);
	audit_record(ac, r->id, true, NULL, NULL, started_at, duration_us, r->checksum, NULL);
	ds->done++;
	r->applied = true;
	ds->next_step++;
	ds->remaining--;
	memcpy(ds->last_hash, ac->prev_hash, sizeof(ds->last_hash));
}

/*
 * One transaction of a deploy: applies the next revision and commits.
 * Returns false when there is nothing left to do.
 */
static bool
deploy_next(DeployState *ds)
{
	MemoryContext outer = MemoryContextSwitchTo(ds->step_cxt);
	AuditContext ac;
	StepPlan   *plan;

	operation_begin("migrate.deploy()", OPERATION_CONNECTED);

	if (catalog_heads_all_applied(ds->target))
		return deploy_finished(ds, outer);

	/* the state as of now: a concurrent deployer may have moved it */
	audit_begin(&ac, "upgrade", ds->target, ds->operation_id);
	ds->operation_id = ac.operation_id;

	/*
	 * Every change made through migrate writes a history row, so if the
	 * newest row is still the one this deploy wrote, nothing has moved and
	 * the plan of the last transaction still holds: no reload per revision,
	 * which would make a deploy quadratic.
	 */
	if (ds->kept_plan == NULL ||
		((!ac.have_prev || strcmp(ac.prev_hash, ds->last_hash) != 0) && !deploy_catch_up(ds)))
		deploy_replan(ds);
	ds->seen_id = ac.prev_id;
	plan = ds->kept_plan;

	/* steps another deployer has applied meanwhile are skipped */
	while (ds->next_step < plan->nsteps &&
		   ds->kept_graph->revs[plan->steps[ds->next_step]].applied)
		ds->next_step++;
	if (ds->next_step == plan->nsteps)
		return deploy_finished(ds, outer);

	/* only the next step runs in this transaction */
	deploy_apply(ds, &ds->kept_graph->revs[plan->steps[ds->next_step]], &ac, outer);

	operation_end(OPERATION_CONNECTED);
	MemoryContextSwitchTo(outer);
	MemoryContextReset(ds->step_cxt);
	SPI_commit();
	return true;
}

PG_FUNCTION_INFO_V1(migrate_deploy);

/* CALL migrate.deploy(target): one transaction per revision. */
Datum
migrate_deploy(PG_FUNCTION_ARGS)
{
	char	   *target_arg = target_argument(fcinfo, 0);
	bool		atomic = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		castNode(CallContext, fcinfo->context)->atomic;
	DeployState *ds;

	if (atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("migrate.deploy() cannot run inside a transaction block"),
				 errdetail("Each revision is committed in a transaction of its own."),
				 errhint("CALL it outside BEGIN ... COMMIT, or use SELECT migrate.upgrade() to deploy in one transaction.")));

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ds = palloc0(sizeof(DeployState));
	ds->deploy_cxt = CurrentMemoryContext;
	ds->target = pstrdup(target_arg);
	ds->pinned_kind = TARGET_BASE;
	ds->step_cxt = AllocSetContextCreate(CurrentMemoryContext, "migrate deploy step",
										 ALLOCSET_DEFAULT_SIZES);

	/* the progress shown in pg_stat_activity is put back whatever fails */
	PG_TRY();
	{
		while (deploy_next(ds))
			;
	}
	PG_FINALLY();
	{
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
	}
	PG_END_TRY();

	SPI_finish();
	PG_RETURN_VOID();
}
