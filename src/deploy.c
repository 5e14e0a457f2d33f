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
		/* deferred constraints fail here, as this revision's error, not at commit */
		if (SPI_execute("SET CONSTRAINTS ALL IMMEDIATE", false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "SET CONSTRAINTS failed");
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

PG_FUNCTION_INFO_V1(migrate_deploy);

/* CALL migrate.deploy(target): one transaction per revision. */
Datum
migrate_deploy(PG_FUNCTION_ARGS)
{
	char	   *target_arg = target_argument(fcinfo, 0);
	bool		atomic = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		castNode(CallContext, fcinfo->context)->atomic;
	MemoryContext step_cxt;
	char	   *target;
	char	   *applied_by;
	int64		operation_id = 0;
	int			done = 0;
	MemoryContext deploy_cxt;
	char	  **pinned_ids = NULL;
	int			pinned_n = 0;
	TargetKind	pinned_kind = TARGET_BASE;

	if (atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("migrate.deploy() cannot run inside a transaction block"),
				 errdetail("deploy commits after each revision."),
				 errhint("CALL it outside BEGIN ... COMMIT, or use SELECT migrate.upgrade() to deploy in one transaction.")));

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	deploy_cxt = CurrentMemoryContext;
	target = pstrdup(target_arg);
	applied_by = GetUserNameFromId(GetUserId(), false);
	step_cxt = AllocSetContextCreate(CurrentMemoryContext, "migrate deploy step",
									 ALLOCSET_DEFAULT_SIZES);

	/* the progress shown in pg_stat_activity is put back whatever fails */
	PG_TRY();
	{
		for (;;)
		{
			MemoryContext outer = MemoryContextSwitchTo(step_cxt);
			AuditContext ac;
			Graph	   *g;
			StepPlan   *plan;
			Revision   *r;
			StepContext sc;
			char	   *sql;
			TimestampTz started_at;
			int64		duration_us;
			ErrorData  *edata;
			int			remaining;

			operation_enter("migrate.deploy()");
			deploy_lock_acquire("migrate.deploy()");

			if (catalog_heads_all_applied(target))
			{
				if (done == 0)
					ereport(NOTICE,
							(errmsg("nothing to deploy"),
							 errdetail("Every revision that target \"%s\" needs is already applied.", target)));
				operation_exit();
				MemoryContextSwitchTo(outer);
				break;
			}

			/* the state as of now: a concurrent deployer may have moved it */
			audit_begin(&ac, "upgrade", target);
			if (operation_id == 0)
				operation_id = ac.operation_id;
			ac.operation_id = operation_id;
			g = graph_load(false);

			/*
			 * A relative target ("+1") is resolved once, in the first
			 * transaction: each later one would otherwise step again from where
			 * the deploy has got to.
			 */
			if (pinned_ids == NULL)
			{
				Target	   *t = target_resolve(g, target);
				MemoryContext old = MemoryContextSwitchTo(deploy_cxt);

				pinned_kind = t->kind;
				pinned_n = t->nrevs;
				pinned_ids = palloc(sizeof(char *) * Max(t->nrevs, 1));
				for (int i = 0; i < t->nrevs; i++)
					pinned_ids[i] = pstrdup(g->revs[t->revs[i]].id);
				MemoryContextSwitchTo(old);
			}
			plan = plan_build(g, OP_UPGRADE,
							  target_from_ids(g, pinned_kind, pinned_ids, pinned_n), target);

			if (plan->nsteps == 0)
			{
				if (done == 0)
					ereport(NOTICE,
							(errmsg("nothing to deploy"),
							 errdetail("Every revision that target \"%s\" needs is already applied.", target)));
				operation_exit();
				MemoryContextSwitchTo(outer);
				break;
			}

			/* only the first step runs in this transaction */
			remaining = plan->nsteps;
			plan->nsteps = 1;
			check_registrants(g, plan, "deploy");
			r = &g->revs[plan->steps[0]];
			sc.operation = "deploy";
			sc.revision = r->id;
			sc.step = done + 1;
			sc.nsteps = done + remaining;
			sc.line = 0;
			report_progress(&sc);
			ereport(NOTICE,
					(errmsg("deploy %d/%d: revision \"%s\"%s%s", sc.step, sc.nsteps, r->id,
							r->message[0] ? " - " : "", r->message)));

			sql = catalog_fetch_sql(r->id, false);
			started_at = GetCurrentTimestamp();
			edata = run_in_subtransaction(sql, &sc);
			duration_us = GetCurrentTimestamp() - started_at;

			if (edata != NULL)
			{
				/* keep the failure on record, then fail with the original error */
				audit_record(&ac, r->id, false, unpack_sql_state(edata->sqlerrcode),
							 edata->message, started_at, duration_us, r->checksum);
				operation_exit();
				MemoryContextSwitchTo(outer);
				SPI_commit();
				ReThrowError(edata);
			}

			catalog_set_applied(r->id, r->checksum, started_at, applied_by);
			audit_record(&ac, r->id, true, NULL, NULL, started_at, duration_us, r->checksum);
			done++;

			operation_exit();
			MemoryContextSwitchTo(outer);
			MemoryContextReset(step_cxt);
			SPI_commit();
		}
	}
	PG_FINALLY();
	{
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
	}
	PG_END_TRY();

	SPI_finish();
	PG_RETURN_VOID();
}
