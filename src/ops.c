/*
 * ops.c
 *		upgrade, downgrade and stamp: the operations that change the applied set.
 *
 * Each runs in the caller's transaction under the deploy lock: all steps
 * commit together or not at all.  A revision's SQL runs through SPI as the
 * caller, with the caller's search_path; the catalog writes of each step run
 * as the extension owner right after it.  A failing revision's error keeps
 * its SQLSTATE and gains a context line naming the revision.  No
 * subtransaction is used: the whole call fails anyway, and a subtransaction
 * per revision would overflow the backend's subxid cache on large deploys.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* Error context naming the revision, step and line being run. */
void
step_error_context(void *arg)
{
	StepContext *sc = arg;

	if (sc->line > 0)
		errcontext("migrate %s of revision \"%s\" (step %d of %d), line %d",
				   sc->operation, sc->revision, sc->step, sc->nsteps, sc->line);
	else
		errcontext("migrate %s of revision \"%s\" (step %d of %d)",
				   sc->operation, sc->revision, sc->step, sc->nsteps);
}

/* Shows "migrate: upgrade 3/120 0003_index" in pg_stat_activity.query. */
void
report_progress(StepContext *sc)
{
	char		buf[MIGRATE_ID_MAXLEN + 64];

	snprintf(buf, sizeof(buf), "migrate: %s %d/%d %s",
			 sc->operation, sc->step, sc->nsteps, sc->revision);
	pgstat_report_activity(STATE_RUNNING, buf);
}

/* The statements of a revision's SQL, one by one, as run_revision_sql() runs them. */
static void
run_statements(const char *sql, StepContext *sc, MemoryContext caller_cxt)
{
	SqlStatement *stmts;
	int			nstmts;

	stmts = sql_statements(sql, &nstmts);
	for (int i = 0; i < nstmts; i++)
	{
		int			ret;

		sc->line = sc->line_base + stmts[i].line;
		/* each statement reads as it was checked at add */
		residue_force_standard_strings();
		ret = locksafe_execute(stmts[i].sql, sc);
		/* add refuses both; a catalog changed behind migrate's back can still hold them */
		if (ret == SPI_ERROR_TRANSACTION)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("a revision cannot begin or end transactions"),
					 errdetail("A revision's SQL always runs inside a transaction that migrate controls."),
					 errhint("Remove BEGIN, COMMIT, ROLLBACK and SAVEPOINT statements from the revision's SQL.")));
		if (ret == SPI_ERROR_COPY)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("COPY from or to the client cannot run in a revision"),
					 errdetail("A revision's SQL runs in the server, where there is no client to copy from."),
					 errhint("Use INSERT statements, or COPY from a server file.")));
		if (ret < 0)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		SPI_freetuptable(SPI_tuptable);
		/* SPI leaves its procedure context current: back to the step's */
		MemoryContextSwitchTo(caller_cxt);
		pfree(stmts[i].sql);
	}
	pfree(stmts);
	sc->line = 0;
}

/*
 * Runs a revision's SQL as the caller, one statement at a time, so that an
 * error's context names the revision and line and quotes only the failing
 * statement.
 */
void
run_revision_sql(const char *sql, StepContext *sc)
{
	ErrorContextCallback callback;
	MemoryContext caller_cxt = CurrentMemoryContext;
	SessionMark mark;
	Oid			saved_userid;
	int			saved_sec_context;

	if (sql == NULL || sql[0] == '\0')
		return;

	callback.callback = step_error_context;
	callback.arg = sc;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	/*
	 * As the caller, but unable to change role: a revision doing RESET ROLE
	 * would otherwise escape the SET ROLE under which a DBA runs a weaker
	 * registrant's revision.  An error restores the context with the
	 * (sub)transaction.
	 */
	GetUserIdAndSecContext(&saved_userid, &saved_sec_context);
	SetUserIdAndSecContext(saved_userid, saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);

	residue_mark(&mark);
	locksafe_begin_revision();
	/* its DDL is migrate's own, not drift (ddlevent.c), until it ends or fails */
	migrate_in_revision = true;
	PG_TRY();
	{
		run_statements(sql, sc, caller_cxt);
		residue_check(&mark);
	}
	PG_FINALLY();
	{
		migrate_in_revision = false;
	}
	PG_END_TRY();

	SetUserIdAndSecContext(saved_userid, saved_sec_context);
	error_context_stack = callback.previous;
}

/*
 * The NOTICE of an upgrade or deploy that finds every revision applied, or
 * (g given and empty) no revision registered at all.
 */
void
notice_all_applied(bool deploy, const char *target, Graph *g)
{
	if (g != NULL && g->nrevs == 0)
		ereport(NOTICE,
				(deploy ? errmsg("nothing to deploy: no revision is registered") :
				 errmsg("nothing to upgrade: no revision is registered"),
				 errhint("Register revisions with migrate.add(), migrate.add_script() or migrate.add_dir() first.")));
	else
		ereport(NOTICE,
			(deploy ? errmsg("nothing to deploy") : errmsg("nothing to upgrade"),
			 errdetail("Every revision that target \"%s\" needs is already applied.", target)));
}

/* Emits one (revision, message, duration) row of upgrade or downgrade. */
void
put_step_row(ReturnSetInfo *rsinfo, Revision *r, int64 duration_us)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(r->id);
	values[1] = CStringGetTextDatum(r->message);
	values[2] = interval_from_us(duration_us);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * Shows a step in pg_stat_activity and sends its NOTICE ("upgrade 2/3:
 * revision "0002_email" - add email to users").
 */
void
announce_step(StepContext *sc, Revision *r)
{
	report_progress(sc);
	if (r->message[0] != '\0')
		ereport(NOTICE,
				(errmsg("%s %d/%d: revision \"%s\" - %s", sc->operation, sc->step, sc->nsteps,
						r->id, r->message)));
	else
		ereport(NOTICE,
				(errmsg("%s %d/%d: revision \"%s\"", sc->operation, sc->step, sc->nsteps, r->id)));
}

/* One step of upgrade or downgrade: the revision's SQL, then its rows. */
static void
run_step(OperationKind op, Revision *r, StepContext *sc, AuditContext *ac,
		 ReturnSetInfo *rsinfo, DriftTrack *dt)
{
	char	   *sql;
	TimestampTz started_at;
	int64		duration_us;

	announce_step(sc, r);
	sql = catalog_fetch_sql(r->id, op == OP_DOWNGRADE);
	started_at = GetCurrentTimestamp();
	run_revision_sql(sql, sc);
	duration_us = GetCurrentTimestamp() - started_at;

	/* applied_at and applied_by are the history row's: verify() compares them */
	if (op == OP_UPGRADE)
		catalog_set_applied(r->id, r->checksum, started_at, ac->effective_role);
	else
		catalog_unset_applied(r->id);
	r->applied = (op == OP_UPGRADE);
	/* the call's last row carries the schema fingerprint after it */
	if (sc->step == sc->nsteps)
		drift_end(dt, true);
	audit_record(ac, r->id, true, NULL, NULL, started_at, duration_us, r->checksum,
				 drift_detail(dt, lock_retries_detail(sc->lock_retries)));
	put_step_row(rsinfo, r, duration_us);
}

/*
 * Runs the steps of a plan in order, each in a memory context reset after
 * it (memory does not grow with the plan); the progress shown in
 * pg_stat_activity is put back even on error.
 */
static void
run_steps(OperationKind op, Graph *g, StepPlan *plan, AuditContext *ac,
		  ReturnSetInfo *rsinfo, DriftTrack *dt)
{
	MemoryContext step_cxt = AllocSetContextCreate(CurrentMemoryContext, "migrate step",
												   ALLOCSET_DEFAULT_SIZES);

	PG_TRY();
	{
		for (int i = 0; i < plan->nsteps; i++)
		{
			Revision   *r = &g->revs[plan->steps[i]];
			StepContext sc = {operation_name(op), r->id, i + 1, plan->nsteps, 0, 0, 0};
			MemoryContext outer = MemoryContextSwitchTo(step_cxt);

			run_step(op, r, &sc, ac, rsinfo, dt);
			MemoryContextSwitchTo(outer);
			MemoryContextReset(step_cxt);
		}
	}
	PG_FINALLY();
	{
		pgstat_report_activity(STATE_RUNNING, debug_query_string);
	}
	PG_END_TRY();
	MemoryContextDelete(step_cxt);
}

/*
 * Refuses a plan holding a non-transactional revision before any step runs:
 * its statements must each run in a transaction of their own.
 */
static void
refuse_nontransactional(OperationKind op, Graph *g, StepPlan *plan, const char *target)
{
	for (int i = 0; i < plan->nsteps; i++)
	{
		Revision   *r = &g->revs[plan->steps[i]];

		if (!r->transactional)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("revision \"%s\" cannot run inside a transaction", r->id),
					 errdetail("It is non-transactional: its statements run one by one, each in a transaction of its own (step %d of %d of this %s).",
							   i + 1, plan->nsteps, operation_name(op)),
					 op == OP_UPGRADE ?
					 errhint("Use CALL migrate.deploy(%s) outside a transaction block.", quote_literal_cstr(target)) :
					 errhint("Use CALL migrate.revert(%s) outside a transaction block.", quote_literal_cstr(target))));
	}
}

/* upgrade and downgrade: plan, check, then run each step and record it. */
static void
run_operation(FunctionCallInfo fcinfo, OperationKind op)
{
	const char *fname = op == OP_UPGRADE ? "migrate.upgrade()" : "migrate.downgrade()";
	char	   *target = target_argument(fcinfo, 0);
	ReturnSetInfo *rsinfo;
	AuditContext ac;
	DriftTrack	dt = {0};
	Graph	   *g;
	StepPlan   *plan;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	operation_begin(fname, 0);

	if (op == OP_UPGRADE && catalog_heads_all_applied(target))
	{
		notice_all_applied(false, target, NULL);
		operation_end(0);
		return;
	}

	audit_begin(&ac, operation_name(op), target, 0);
	g = graph_load(false);
	plan = plan_build(g, op, target_resolve(g, target), target);
	refuse_nontransactional(op, g, plan, target);
	check_registrants(g, plan);

	if (plan->nsteps == 0 && op == OP_UPGRADE)
		notice_all_applied(false, target, g);
	else if (plan->nsteps == 0)
		ereport(NOTICE,
				(errmsg("nothing to downgrade"),
				 errdetail("No applied revision comes after target \"%s\".", target)));

	if (plan->nsteps > 0)
		drift_begin(&dt, CurrentMemoryContext);
	run_steps(op, g, plan, &ac, rsinfo, &dt);
	operation_end(0);
}

PG_FUNCTION_INFO_V1(migrate_upgrade);

/* migrate.upgrade(target): applies what the target needs, in order. */
Datum
migrate_upgrade(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, OP_UPGRADE);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(migrate_downgrade);

/* migrate.downgrade(target): runs down SQL of what comes after the target. */
Datum
migrate_downgrade(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, OP_DOWNGRADE);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(migrate_stamp);

/* migrate.stamp(target): sets the applied set to the target's closure. */
Datum
migrate_stamp(PG_FUNCTION_ARGS)
{
	char	   *target = target_argument(fcinfo, 0);
	MemoryContext fn_cxt = CurrentMemoryContext;
	AuditContext ac;
	DriftTrack	dt = {0};
	const char *detail;
	Graph	   *g;
	Target	   *t;
	StepPlan	   *plan;
	int			ncurrent;
	int		   *current;
	ArrayType  *result;

	operation_begin("migrate.stamp()", 0);

	audit_begin(&ac, "stamp", target, 0);
	g = graph_load(false);
	t = target_resolve(g, target);
	plan = plan_build(g, OP_STAMP, t, target);

	if (plan->nsteps == 0)
		ereport(NOTICE,
				(errmsg("nothing to stamp"),
				 errdetail("The applied set is already the closure of target \"%s\".", target)));
	else
		drift_begin(&dt, CurrentMemoryContext);
	/* with drift tracked, a stamp row says that no SQL ran */
	detail = dt.begun ? "{\"sql_run\": false}" : NULL;

	for (int i = 0; i < plan->nsteps; i++)
	{
		Revision   *r = &g->revs[plan->steps[i]];
		TimestampTz now = GetCurrentTimestamp();

		if (i == plan->nsteps - 1)
		{
			drift_end(&dt, false);
			detail = drift_detail(&dt, detail);
		}

		if (plan->unapply[i])
		{
			catalog_unset_applied(r->id);
			r->applied = false;
			/* a removal carries no checksum: that is how history tells it apart */
			audit_record(&ac, r->id, true, NULL, NULL, now, 0, NULL, detail);
		}
		else
		{
			catalog_set_applied(r->id, r->checksum, now, ac.effective_role);
			r->applied = true;
			audit_record(&ac, r->id, true, NULL, NULL, now, 0, r->checksum, detail);
		}
	}

	current = graph_current_heads(g, &ncurrent);
	{
		MemoryContext old = MemoryContextSwitchTo(fn_cxt);
		char	  **ids = palloc(sizeof(char *) * Max(ncurrent, 1));

		for (int i = 0; i < ncurrent; i++)
			ids[i] = pstrdup(g->revs[current[i]].id);
		result = strings_to_array(ids, ncurrent);
		MemoryContextSwitchTo(old);
	}

	operation_end(0);
	PG_RETURN_ARRAYTYPE_P(result);
}
