/*
 * stepwise.c
 *		A non-transactional revision, run statement by statement: each
 *		statement in a transaction of its own, and those that cannot run in a
 *		transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...) at top level
 *		in a background worker (worker.c).
 *
 * The caller (deploy.c) holds the step lock but not the deploy lock, and has
 * committed: this backend holds no snapshot while a worker runs, so a
 * concurrent index build never waits for it.  Statements committed before a
 * failure stay committed; the failure's history row counts them, and the
 * next deploy resumes after them.
 */
#include "migrate.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

/*
 * Runs body(arg) in a subtransaction.  Returns NULL on success, or the error
 * (rolled back and flushed) on failure.
 */
ErrorData *
run_caught(void (*body) (void *arg), void *arg)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);

	PG_TRY();
	{
		body(arg);
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

/*
 * Runs body(arg), which hands a statement to a background worker, and
 * returns its error (flushed) or NULL.  Not in a subtransaction: the worker
 * refuses to run from a transaction block, which a subtransaction is.  The
 * caller's transaction has done nothing, so an error rolls it back whole
 * (SPI_rollback() cleans up as the top-level error handler would) and a new
 * one starts, without a snapshot.
 */
static ErrorData *
run_caught_in_worker(void (*body) (void *arg), void *arg)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;

	PG_TRY();
	{
		body(arg);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		SPI_rollback();
		MemoryContextSwitchTo(oldcontext);
	}
	PG_END_TRY();

	return edata;
}

/* One statement of a revision, with the step it belongs to. */
typedef struct StatementRun
{
	const char *sql;
	int			line;			/* its first line in the revision's SQL */
	bool		in_worker;
	StepContext *sc;
} StatementRun;

/* Runs one statement: in a background worker, or here through SPI. */
static void
run_statement(void *arg)
{
	StatementRun *run = arg;
	ErrorContextCallback callback;
	Oid			saved_userid;
	int			saved_sec_context;

	if (!run->in_worker)
	{
		run->sc->line_base = run->line - 1;
		run_revision_sql(run->sql, run->sc);
		run->sc->line_base = 0;
		return;
	}
	run->sc->line = run->line;
	callback.callback = step_error_context;
	callback.arg = run->sc;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	/* the worker takes this context: unable to change role, as run_revision_sql() */
	GetUserIdAndSecContext(&saved_userid, &saved_sec_context);
	SetUserIdAndSecContext(saved_userid, saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	worker_run_statement(run->sql, run->sc->revision, run->line);
	SetUserIdAndSecContext(saved_userid, saved_sec_context);
	error_context_stack = callback.previous;
	run->sc->line = 0;
}

/*
 * The qualified name of an invalid index named as stmt's index, on stmt's
 * table, or NULL: what a failed or killed build of the same statement left.
 */
static char *
invalid_index_left(IndexStmt *stmt)
{
	Oid			table = RangeVarGetRelid(stmt->relation, NoLock, true);
	Oid			nsp;
	Oid			index;
	HeapTuple	tup;
	bool		invalid;

	if (!OidIsValid(table))
		return NULL;
	nsp = get_rel_namespace(table);
	index = get_relname_relid(stmt->idxname, nsp);
	if (!OidIsValid(index))
		return NULL;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
	if (!HeapTupleIsValid(tup))
		return NULL;
	invalid = ((Form_pg_index) GETSTRUCT(tup))->indrelid == table &&
		!((Form_pg_index) GETSTRUCT(tup))->indisvalid;
	ReleaseSysCache(tup);
	return invalid ? quote_qualified_identifier(get_namespace_name(nsp), stmt->idxname) : NULL;
}

/*
 * Drops the invalid index a failed build of this CREATE INDEX CONCURRENTLY
 * left, so that the statement can build it again: an invalid index is never
 * used by queries, and the statement would otherwise fail ("already
 * exists") or, with IF NOT EXISTS, leave it invalid.
 */
static ErrorData *
drop_invalid_index(SqlStatement *stmt, StepContext *sc)
{
	char	   *leftover = invalid_index_left(stmt->concurrent_index);
	StatementRun run = {NULL, stmt->line, true, sc};

	/* the lookup took a catalog snapshot: the worker must not wait for it */
	SPI_commit();
	if (leftover == NULL)
		return NULL;
	ereport(NOTICE,
			(errmsg("dropping invalid index %s, left by an earlier attempt of revision \"%s\"",
					leftover, sc->revision),
			 errdetail("The statement at line %d builds it again.", stmt->line)));
	run.sql = psprintf("DROP INDEX CONCURRENTLY %s", leftover);
	return run_caught_in_worker(run_statement, &run);
}

/*
 * Names, in NOTICEs, the transactions of the database that hold a snapshot
 * now: a concurrent index build waits for those still open when it
 * finishes (autovacuum's it does not wait for).  Read as the caller, so that the query text of other roles'
 * sessions shows only to a caller allowed to see it (pg_read_all_stats).
 */
static void
report_old_snapshots(StepContext *sc)
{
	int			ret;

	ret = SPI_execute("SELECT a.pid, pg_catalog.date_trunc('second', pg_catalog.now() OPERATOR(pg_catalog.-) a.xact_start)::pg_catalog.text,"
					  " pg_catalog.left(pg_catalog.regexp_replace(a.query, '\\s+', ' ', 'g'), 80)"
					  " FROM pg_catalog.pg_stat_activity a"
					  " WHERE a.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()"
					  " AND a.backend_xmin IS NOT NULL AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()"
					  " AND a.backend_type OPERATOR(pg_catalog.<>) ALL ('{autovacuum worker,migrate worker}')"
					  " ORDER BY a.xact_start LIMIT 10", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *age = SPI_getvalue(tup, desc, 2);
		char	   *query = SPI_getvalue(tup, desc, 3);

		ereport(NOTICE,
				(errmsg("the index build of revision \"%s\" will wait for the transaction of process %s, open for %s",
						sc->revision, SPI_getvalue(tup, desc, 1), age ? age : "?"),
				 errdetail("Its query: %s", query ? query : "(not shown)"),
				 errhint("A concurrent index build waits for every transaction holding an older snapshot; pg_stat_activity shows the worker waiting (wait_event virtualxid).")));
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Shows the statement running in pg_stat_activity and sends its NOTICE. */
static void
announce_statement(StepContext *sc, SqlStatement *stmt, int n, int nstmts)
{
	char		buf[MIGRATE_ID_MAXLEN + 128];

	snprintf(buf, sizeof(buf), "migrate: %s %d/%d %s, statement %d/%d%s",
			 sc->operation, sc->step, sc->nsteps, sc->revision, n, nstmts,
			 stmt->top_level ? " (background worker)" : "");
	pgstat_report_activity(STATE_RUNNING, buf);
	ereport(NOTICE,
			(errmsg("%s %d/%d: revision \"%s\", statement %d of %d (line %d) %s",
					sc->operation, sc->step, sc->nsteps, sc->revision, n, nstmts, stmt->line,
					stmt->top_level ? "in a background worker" : "in a transaction of its own")));
}

/*
 * Runs the statements of sql from the first-th (0-based), committing after
 * each.  Returns NULL when all succeeded, or the error of the one that
 * failed; *committed counts the statements committed, *nstatements all.
 */
ErrorData *
stepwise_run(const char *sql, StepContext *sc, int first, int *committed, int *nstatements)
{
	SqlStatement *stmts = sql_statements(sql, nstatements);

	*committed = Min(first, *nstatements);
	for (int i = *committed; i < *nstatements; i++)
	{
		StatementRun run = {stmts[i].sql, stmts[i].line, stmts[i].top_level, sc};
		ErrorData  *edata;

		announce_statement(sc, &stmts[i], i + 1, *nstatements);
		if (stmts[i].concurrent_index != NULL)
			report_old_snapshots(sc);
		if (stmts[i].concurrent_index != NULL &&
			(edata = drop_invalid_index(&stmts[i], sc)) != NULL)
			return edata;
		edata = stmts[i].top_level ? run_caught_in_worker(run_statement, &run) :
			run_caught(run_statement, &run);
		if (edata != NULL)
			return edata;
		SPI_commit();
		*committed = i + 1;
	}
	return NULL;
}

/*
 * Where a revision's stepwise run starts: after the statements that the
 * last attempt committed, when the revision's newest history row is that
 * attempt's failure (same operation, same checksum); else at the first.
 */
int
stepwise_resume_point(Revision *r, const char *operation)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(r->id), CStringGetTextDatum(operation),
	CStringGetTextDatum(r->checksum)};
	int			resume = 0;

	catalog_exec("SELECT pg_catalog.int4(h.detail OPERATOR(pg_catalog.->>) 'committed'),"
				 " NOT h.success AND h.operation = $2 AND h.checksum = $3"
				 " FROM migrate.history h WHERE h.revision = $1 ORDER BY h.id DESC LIMIT 1",
				 3, argtypes, values, NULL, false, 0);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		bool		committed_null;
		bool		isnull;
		Datum		committed = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &committed_null);
		bool		same_attempt = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));

		if (!committed_null && !isnull && same_attempt)
			resume = DatumGetInt32(committed);
	}
	SPI_freetuptable(SPI_tuptable);
	return resume;
}
