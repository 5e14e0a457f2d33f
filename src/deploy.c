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

/* Runs a revision's SQL (body of run_caught()). */
static void
run_sql_body(void *arg)
{
	void	  **args = arg;

	run_revision_sql(args[0], args[1]);
}

/* What a deploy keeps from one of its transactions to the next. */
typedef struct DeployState
{
	OperationKind op;			/* OP_UPGRADE (deploy) or OP_DOWNGRADE (revert) */
	const char *fname;			/* "migrate.deploy()" or "migrate.revert()" */
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
	DriftTrack	drift;			/* the schema model at the start, in deploy_cxt */
} DeployState;

/* Whether the revision is where this deploy (or revert) takes it. */
static inline bool
step_done(DeployState *ds, Revision *r)
{
	return ds->op == OP_UPGRADE ? r->applied : !r->applied;
}

/*
 * Brings the kept graph up to date with the history rows written since this
 * deploy last looked, when they only record revisions applied (or, for a
 * revert, unapplied), or failed, by other deployers, or DDL recorded
 * outside migrate: the kept plan then still holds, without those.  Returns
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

		/* DDL recorded outside migrate (ddlevent.c) changes no revision */
		if (strcmp(operation, "drift") == 0)
			;
		else if (strcmp(operation, operation_name(ds->op)) != 0)
			plan_holds = false;
		else if (success)
		{
			rev = graph_find_id(g, revision);
			if (rev < 0)
				plan_holds = false;
			else if (!step_done(ds, &g->revs[rev]))
			{
				g->revs[rev].applied = (ds->op == OP_UPGRADE);
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
	/* another deployer took the last steps: the recorded model is brought up to date */
	drift_end(&ds->drift, true);
	if (ds->done == 0 && ds->op == OP_UPGRADE)
		notice_all_applied(true, ds->target, ds->kept_graph);
	else if (ds->done == 0)
		ereport(NOTICE,
				(errmsg("nothing to revert"),
				 errdetail("No applied revision comes after target \"%s\".", ds->target)));
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
	ds->kept_plan = plan_build(ds->kept_graph, ds->op,
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
 * Records a step's success in the catalogs and history, or its failure in
 * history; a failure is committed, the step lock released, and the error
 * raised again.  detail is the history row's detail (jsonb text) or NULL.
 */
static void
deploy_record(DeployState *ds, Revision *r, AuditContext *ac, MemoryContext outer,
			  ErrorData *edata, TimestampTz started_at, const char *detail)
{
	int64		duration_us = GetCurrentTimestamp() - started_at;

	/* the last row of the call, or its failure, carries the schema fingerprint */
	if (edata != NULL || ds->remaining == 1)
		drift_end(&ds->drift, true);
	detail = drift_detail(&ds->drift, detail);
	if (edata != NULL)
	{
		audit_record(ac, r->id, false, unpack_sql_state(edata->sqlerrcode),
					 edata->message, started_at, duration_us, r->checksum, detail);
		operation_end(OPERATION_CONNECTED);
		MemoryContextSwitchTo(outer);
		SPI_commit();
		step_lock_release();
		ReThrowError(edata);
	}

	/* applied_at and applied_by are the history row's: verify() compares them */
	if (ds->op == OP_UPGRADE)
		catalog_set_applied(r->id, r->checksum, started_at, ac->effective_role);
	else
		catalog_unset_applied(r->id);
	audit_record(ac, r->id, true, NULL, NULL, started_at, duration_us, r->checksum, detail);
	ds->done++;
	r->applied = (ds->op == OP_UPGRADE);
	ds->next_step++;
	ds->remaining--;
	memcpy(ds->last_hash, ac->prev_hash, sizeof(ds->last_hash));
}

/* Runs one transactional revision in a subtransaction, and records it. */
static void
deploy_apply(DeployState *ds, Revision *r, AuditContext *ac, MemoryContext outer)
{
	StepContext sc = {ds->op == OP_UPGRADE ? "deploy" : "revert", r->id, ds->done + 1, ds->done + ds->remaining, 0, 0, 0};
	void	   *args[2];
	TimestampTz started_at;
	ErrorData  *edata;

	announce_step(&sc, r);
	args[0] = catalog_fetch_sql(r->id, ds->op == OP_DOWNGRADE);
	args[1] = &sc;
	started_at = GetCurrentTimestamp();
	edata = run_caught(run_sql_body, args);
	deploy_record(ds, r, ac, outer, edata, started_at, lock_retries_detail(sc.lock_retries));
}

/*
 * Runs one non-transactional revision statement by statement, under the
 * step lock instead of the deploy lock (see lock.c), then takes the deploy
 * lock again to record it.  Ends with the deploy lock's transaction
 * committed, like every transaction of a deploy.
 */
static void
deploy_apply_stepwise(DeployState *ds, Revision *r, MemoryContext outer)
{
	StepContext sc = {ds->op == OP_UPGRADE ? "deploy" : "revert", r->id, ds->done + 1, ds->done + ds->remaining, 0, 0, 0};
	char	   *sql = catalog_fetch_sql(r->id, ds->op == OP_DOWNGRADE);
	int			first = stepwise_resume_point(r, operation_name(ds->op));
	int			committed;
	int			nstatements;
	TimestampTz started_at = GetCurrentTimestamp();
	ErrorData  *edata;
	AuditContext ac;

	announce_step(&sc, r);
	if (first == 1)
		ereport(NOTICE,
				(errmsg("resuming revision \"%s\" after its first statement", r->id),
				 errdetail("Its last attempt committed it before it failed.")));
	else if (first > 1)
		ereport(NOTICE,
				(errmsg("resuming revision \"%s\" after its first %d statements", r->id, first),
				 errdetail("Its last attempt committed them before it failed.")));
	step_lock_take();
	operation_end(OPERATION_CONNECTED);
	SPI_commit();

	edata = stepwise_run(sql, &sc, first, &committed, &nstatements);

	(void) operation_begin(ds->fname, OPERATION_CONNECTED | OPERATION_STEP_WAIT);
	audit_begin(&ac, operation_name(ds->op), ds->target, ds->operation_id);
	ds->seen_id = ac.prev_id;
	deploy_record(ds, r, &ac, outer, edata, started_at,
				  sc.lock_retries > 0 ?
				  psprintf("{\"transactional\": false, \"statements\": %d, \"committed\": %d, \"lock_retries\": %d}",
						   nstatements, committed, sc.lock_retries) :
				  psprintf("{\"transactional\": false, \"statements\": %d, \"committed\": %d}",
						   nstatements, committed));
	operation_end(OPERATION_CONNECTED);
	MemoryContextSwitchTo(outer);
	MemoryContextReset(ds->step_cxt);
	SPI_commit();
	step_lock_release();
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
	Revision   *r;

	if (!operation_begin(ds->fname, OPERATION_CONNECTED | OPERATION_STEP_WAIT))
	{
		/* another deploy runs a revision outside a transaction: wait for it */
		operation_end(OPERATION_CONNECTED);
		MemoryContextSwitchTo(outer);
		SPI_commit();
		step_lock_wait();
		return true;
	}

	if (ds->op == OP_UPGRADE && catalog_heads_all_applied(ds->target))
		return deploy_finished(ds, outer);

	/* the state as of now: a concurrent deployer may have moved it */
	audit_begin(&ac, operation_name(ds->op), ds->target, ds->operation_id);
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

	/* steps another deployer has taken meanwhile are skipped */
	while (ds->next_step < plan->nsteps &&
		   step_done(ds, &ds->kept_graph->revs[plan->steps[ds->next_step]]))
		ds->next_step++;
	if (ds->next_step == plan->nsteps)
		return deploy_finished(ds, outer);

	/* the schema model before the call's first step, under the deploy lock */
	drift_begin(&ds->drift, ds->deploy_cxt);
	/* only the next step runs in this transaction */
	r = &ds->kept_graph->revs[plan->steps[ds->next_step]];
	if (!r->transactional)
	{
		deploy_apply_stepwise(ds, r, outer);
		return true;
	}
	deploy_apply(ds, r, &ac, outer);

	operation_end(OPERATION_CONNECTED);
	MemoryContextSwitchTo(outer);
	MemoryContextReset(ds->step_cxt);
	SPI_commit();
	return true;
}

/*
 * CALL migrate.deploy(target) and CALL migrate.revert(target): one
 * transaction per revision.
 */
static void
run_deploy(FunctionCallInfo fcinfo, OperationKind op)
{
	const char *fname = op == OP_UPGRADE ? "migrate.deploy()" : "migrate.revert()";
	char	   *target_arg = target_argument(fcinfo, 0);
	bool		atomic = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		castNode(CallContext, fcinfo->context)->atomic;
	DeployState *ds;

	if (atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", fname),
				 errdetail("Each revision is committed in a transaction of its own."),
				 op == OP_UPGRADE ?
				 errhint("CALL it outside BEGIN ... COMMIT, or use SELECT migrate.upgrade() to deploy in one transaction.") :
				 errhint("CALL it outside BEGIN ... COMMIT, or use SELECT migrate.downgrade() to downgrade in one transaction.")));

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ds = palloc0(sizeof(DeployState));
	ds->op = op;
	ds->fname = fname;
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
		/* the worker that ran this deploy's top-level statements, if any */
		worker_session_end();
		step_lock_release();
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
	}
	PG_END_TRY();

	SPI_finish();
}

PG_FUNCTION_INFO_V1(migrate_deploy);

/* CALL migrate.deploy(target): upgrade, one transaction per revision. */
Datum
migrate_deploy(PG_FUNCTION_ARGS)
{
	run_deploy(fcinfo, OP_UPGRADE);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(migrate_revert);

/* CALL migrate.revert(target): downgrade, one transaction per revision. */
Datum
migrate_revert(PG_FUNCTION_ARGS)
{
	run_deploy(fcinfo, OP_DOWNGRADE);
	PG_RETURN_VOID();
}
