/*
 * integrity.c
 *		migrate.verify() and migrate.check(): what a DBA asks before trusting
 *		the catalogs.
 *
 * verify() recomputes every revision's checksum from its content, every
 * history row's hash and the links of the chain, checks the invariants
 * that migrate's functions keep (applied closed under ancestry, known
 * references, the heads table, no cycle), and checks the columns no hash
 * covers against the history rows that wrote them.  A malformed catalog
 * value is reported, not raised.  Everything is read with cursors, so a
 * large history or huge revisions do not have to fit in memory at once.
 */
#include "migrate.h"

#include <limits.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#define FETCH_BATCH 256

typedef struct Problem
{
	const char *problem;
	char	   *revision;
	char	   *detail;
} Problem;

/* Where problems are kept: the call's context, not a per-batch one. */
static MemoryContext problem_cxt = NULL;

/* Appends one verify() row to the list, in the problems' memory. */
static List *
add_problem(List *problems, const char *problem, const char *revision, char *detail)
{
	MemoryContext old = MemoryContextSwitchTo(problem_cxt);
	Problem    *p = palloc(sizeof(Problem));

	p->problem = problem;
	p->revision = revision ? pstrdup(revision) : NULL;
	p->detail = pstrdup(detail);
	problems = lappend(problems, p);
	MemoryContextSwitchTo(old);
	return problems;
}

/*
 * Fetches the next batch of a cursor into a fresh batch context, so that
 * reading a large history or huge revisions needs memory for one batch only.
 */
static bool
fetch_batch(Portal portal, MemoryContext batch_cxt)
{
	MemoryContextReset(batch_cxt);
	SPI_cursor_fetch(portal, true, FETCH_BATCH);
	MemoryContextSwitchTo(batch_cxt);
	if (SPI_processed == 0)
		return false;
	return true;
}

/* A text column of an SPI row as a C string, or NULL. */
static char *
text_or_null(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Opens a cursor on a catalog query as the extension owner.  Fetches run
 * outside the scope; the portal keeps the owner's snapshot and plan.
 */
static Portal
open_catalog_cursor(const char *sql)
{
	CatalogScope scope;
	Portal		portal;

	catalog_scope_enter(&scope);
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	catalog_scope_exit(&scope);
	return portal;
}

/*
 * Reports the list columns of a revision (parents, depends_on, branch_labels
 * at columns 2 to 4) that are not one-dimensional arrays without NULLs, as
 * only an UPDATE behind migrate's back can make them.  Returns false when
 * one is, as the revision's checksum cannot be computed then.
 */
static bool
arrays_well_formed(List **problems, const char *id, HeapTuple tup, TupleDesc desc)
{
	static const char *const columns[] = {"parents", "depends_on", "branch_labels"};
	bool		ok = true;

	for (int i = 0; i < (int) lengthof(columns); i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(tup, desc, i + 2, &isnull);
		const char *why = isnull ? "is NULL" : array_malformed(DatumGetArrayTypeP(d));

		if (why == NULL)
			continue;
		*problems = add_problem(*problems, "revision altered", id,
								psprintf("Its column %s %s: it was changed outside migrate.add().",
										 columns[i], why));
		ok = false;
	}
	return ok;
}

/*
 * Revisions whose content no longer matches their stored or applied checksum.
 * Sets *arrays_ok to false when a revision's list columns are malformed.
 */
static List *
check_revision_checksums(List *problems, bool *arrays_ok)
{
	Portal		portal = open_catalog_cursor(catalog_has_transactional() ?
		"SELECT r.id, r.parents, r.depends_on, r.branch_labels, r.up_sql, r.down_sql,"
		" r.checksum, a.checksum, r.transactional"
		" FROM migrate.revision r LEFT JOIN migrate.applied a ON a.revision = r.id"
		" ORDER BY r.id COLLATE \"C\"" :
		"SELECT r.id, r.parents, r.depends_on, r.branch_labels, r.up_sql, r.down_sql,"
		" r.checksum, a.checksum, true"
		" FROM migrate.revision r LEFT JOIN migrate.applied a ON a.revision = r.id"
		" ORDER BY r.id COLLATE \"C\"");

	MemoryContext outer = CurrentMemoryContext;
	MemoryContext batch_cxt = AllocSetContextCreate(outer, "migrate verify batch",
													ALLOCSET_DEFAULT_SIZES);

	*arrays_ok = true;
	while (fetch_batch(portal, batch_cxt))
	{
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *id = text_or_null(tup, desc, 1);
			int			nparents,
						ndepends;
			char	  **parents;
			char	  **depends;
			char	   *up = text_or_null(tup, desc, 5);
			char	   *down = text_or_null(tup, desc, 6);
			char	   *stored = text_or_null(tup, desc, 7);
			char	   *applied = text_or_null(tup, desc, 8);
			char	   *actual;

			if (!arrays_well_formed(&problems, id, tup, desc))
			{
				*arrays_ok = false;
				continue;
			}
			parents = array_to_strings(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull)), "parents", &nparents);
			depends = array_to_strings(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)), "depends_on", &ndepends);
			actual = revision_checksum(id, parents, nparents, depends, ndepends, up, down,
									   DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull)));

			if (strcmp(actual, stored) != 0)
				problems = add_problem(problems, "revision altered", id,
									   psprintf("Its content has checksum %s, but the stored checksum is %s: it was changed outside migrate.add().",
												actual, stored));
			if (applied != NULL && strcmp(applied, actual) != 0)
				problems = add_problem(problems, "checksum drift", id,
									   psprintf("It was applied with checksum %s; its content now has checksum %s.",
												applied, actual));
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(batch_cxt);
	return problems;
}

/* Rows of a two-column catalog query, each reported as one problem. */
static List *
report_rows(List *problems, const char *sql, const char *problem, const char *detail_fmt)
{
	catalog_exec(sql, 0, NULL, NULL, NULL, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *rev = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *other = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		problems = add_problem(problems, problem, rev, psprintf(detail_fmt, other));
	}
	SPI_freetuptable(SPI_tuptable);
	return problems;
}

/* The invariants migrate's functions keep, checked in SQL. */
static List *
check_invariants(List *problems, bool *references_ok)
{
	int			before = list_length(problems);

	problems = report_rows(problems,
						   "SELECT r.id, x.p FROM migrate.revision r,"
						   " LATERAL (SELECT pg_catalog.unnest(r.parents)"
						   "          UNION ALL SELECT pg_catalog.unnest(r.depends_on)) AS x(p)"
						   " WHERE x.p IS NOT NULL"
						   "   AND NOT EXISTS (SELECT 1 FROM migrate.revision y WHERE y.id = x.p)"
						   " ORDER BY r.id COLLATE \"C\", x.p COLLATE \"C\"",
						   "unknown reference",
						   "It names \"%s\" as a parent or dependency, and no such revision exists.");
	*references_ok = list_length(problems) == before;

	problems = report_rows(problems,
						   "SELECT a.revision, a.applied_by FROM migrate.applied a"
						   " WHERE NOT EXISTS (SELECT 1 FROM migrate.revision r WHERE r.id = a.revision)"
						   " ORDER BY a.revision COLLATE \"C\"",
						   "unknown applied revision",
						   "It is recorded as applied (by \"%s\"), but no such revision exists.");

	problems = report_rows(problems,
						   "SELECT a.revision, x.p FROM migrate.applied a"
						   " JOIN migrate.revision r ON r.id = a.revision,"
						   " LATERAL (SELECT pg_catalog.unnest(r.parents)"
						   "          UNION ALL SELECT pg_catalog.unnest(r.depends_on)) AS x(p)"
						   " WHERE x.p IS NOT NULL"
						   "   AND NOT EXISTS (SELECT 1 FROM migrate.applied y WHERE y.revision = x.p)"
						   " ORDER BY a.revision COLLATE \"C\", x.p COLLATE \"C\"",
						   "applied without ancestor",
						   "It is applied, but its parent or dependency \"%s\" is not.");

	problems = report_rows(problems,
						   "SELECT s.id, s.how FROM ("
						   " SELECT r.id, 'No revision has it as a parent, but migrate.revision_head does not list it.' AS how"
						   " FROM migrate.revision r"
						   " WHERE NOT EXISTS (SELECT 1 FROM migrate.revision c WHERE c.parents @> ARRAY[r.id])"
						   "   AND NOT EXISTS (SELECT 1 FROM migrate.revision_head h WHERE h.revision = r.id)"
						   " UNION ALL"
						   " SELECT h.revision, 'It is listed in migrate.revision_head, but a revision has it as a parent.'"
						   " FROM migrate.revision_head h"
						   " WHERE EXISTS (SELECT 1 FROM migrate.revision c WHERE c.parents @> ARRAY[h.revision])"
						   ") s ORDER BY s.id COLLATE \"C\"",
						   "heads table out of date",
						   "%s");
	/*
	 * The chain cannot show rows deleted from its end; the state can: every
	 * revision was added, and the latest step on an applied revision applied
	 * it.
	 */
	problems = report_rows(problems,
						   "SELECT s.id, s.what FROM ("
						   " SELECT r.id, 'The history has no row for its registration' AS what FROM migrate.revision r"
						   "  WHERE NOT EXISTS (SELECT 1 FROM migrate.history h"
						   "                     WHERE h.revision = r.id AND h.success"
						   "                       AND h.operation = ANY ('{add,replace}'))"
						   " UNION ALL"
						   " SELECT x.revision, CASE WHEN x.applied THEN 'It is applied, but no history row applied it last'"
						   "                    ELSE 'It is not applied, but its last history row applied it' END"
						   "   FROM (SELECT a.revision, true AS applied FROM migrate.applied a"
						   "         UNION ALL"
						   "         SELECT r.id, false FROM migrate.revision r"
						   "          WHERE NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r.id)) x"
						   "  WHERE x.applied IS DISTINCT FROM"
						   "        (SELECT h.operation = ANY ('{upgrade,adopt}')"
						   "                OR (h.operation = 'stamp' AND h.checksum IS NOT NULL)"
						   "           FROM migrate.history h"
						   "          WHERE h.revision = x.revision AND h.success"
						   "            AND h.operation = ANY ('{upgrade,downgrade,stamp,adopt}')"
						   "          ORDER BY h.id DESC LIMIT 1)"
						   "    AND (x.applied OR EXISTS (SELECT 1 FROM migrate.history h"
						   "                               WHERE h.revision = x.revision AND h.success"
						   "                                 AND h.operation = ANY ('{upgrade,downgrade,stamp,adopt}')))"
						   ") s ORDER BY s.id COLLATE \"C\"",
						   "history incomplete",
						   "%s: rows were deleted from the history, or the catalogs were changed outside migrate.");
	return problems;
}

/*
 * Catalog columns that no checksum covers, against the history rows that
 * wrote them: a revision's message, branch_labels, created_by (which the
 * registrant rule trusts) and lint_ignore against the detail of its newest add, replace,
 * amend or repair row, skipped when that row was written by version 1.0 and
 * has none; an applied revision's applied_by and applied_at against the
 * newest row that applied it (an upgrade, offline ones included, a stamp
 * that added it, or an adoption).
 */
static List *
check_recorded_values(List *problems, bool has_detail)
{
	if (has_detail)
		problems = report_rows(problems,
							   "SELECT r.id, pg_catalog.format('Its %s is %s, but history row %s, which registered it last,"
							   " recorded %s: it was changed outside migrate.add().', c.col, COALESCE(c.stored::pg_catalog.text, 'none'), h.id, COALESCE(c.recorded::pg_catalog.text, 'none'))"
							   " FROM migrate.revision r"
							   " JOIN LATERAL (SELECT h.id, h.detail FROM migrate.history h"
							   "                WHERE h.revision = r.id AND h.success"
							   "                  AND h.operation = ANY ('{add,replace,amend,repair}')"
							   "                ORDER BY h.id DESC LIMIT 1) h ON h.detail IS NOT NULL,"
							   " LATERAL (VALUES (1, 'message', pg_catalog.to_jsonb(r.message), h.detail -> 'message'),"
							   "                 (2, 'branch_labels', pg_catalog.to_jsonb(r.branch_labels), h.detail -> 'branch_labels'),"
							   "                 (3, 'created_by', pg_catalog.to_jsonb(r.created_by), h.detail -> 'created_by'),"
							   "                 (4, 'lint_ignore', pg_catalog.to_jsonb(r.lint_ignore), h.detail -> 'lint_ignore'))"
							   "         AS c(n, col, stored, recorded)"
							   " WHERE c.stored IS DISTINCT FROM c.recorded"
							   " ORDER BY r.id COLLATE \"C\", c.n",
							   "revision altered", "%s");

	return report_rows(problems,
					   "SELECT a.revision, pg_catalog.format('Its %s is %s, but history row %s, which applied it last,"
					   " has %s %s: it was changed outside migrate.', c.col, c.stored, h.id, c.hcol, c.recorded)"
					   " FROM migrate.applied a"
					   " JOIN LATERAL (SELECT h.id, h.effective_role, h.started_at FROM migrate.history h"
					   "                WHERE h.revision = a.revision AND h.success"
					   "                  AND (h.operation = ANY ('{upgrade,adopt}')"
					   "                       OR (h.operation = 'stamp' AND h.checksum IS NOT NULL))"
					   "                ORDER BY h.id DESC LIMIT 1) h ON true,"
					   " LATERAL (VALUES (1, 'applied_by', a.applied_by = h.effective_role,"
					   "                  pg_catalog.to_jsonb(a.applied_by)::pg_catalog.text, 'effective_role',"
					   "                  pg_catalog.to_jsonb(h.effective_role)::pg_catalog.text),"
					   "                 (2, 'applied_at', a.applied_at = h.started_at,"
					   "                  pg_catalog.to_jsonb(a.applied_at)::pg_catalog.text, 'started_at',"
					   "                  pg_catalog.to_jsonb(h.started_at)::pg_catalog.text))"
					   "         AS c(n, col, same, stored, hcol, recorded)"
					   " WHERE NOT c.same"
					   " ORDER BY a.revision COLLATE \"C\", c.n",
					   "applied row altered", "%s");
}

/* The history hash chain: each row's hash, and each row's link to the last. */
static List *
check_history_chain(List *problems, bool has_detail)
{
	Portal		portal = open_catalog_cursor(has_detail ?
		"SELECT id, operation_id, operation, revision, target, success, sqlstate, error,"
		" started_at, duration, session_role, effective_role, application_name,"
		" client_addr::pg_catalog.text, backend_pid, txid, checksum, prev_hash, hash,"
		" detail::pg_catalog.text"
		" FROM migrate.history ORDER BY id" :
		"SELECT id, operation_id, operation, revision, target, success, sqlstate, error,"
		" started_at, duration, session_role, effective_role, application_name,"
		" client_addr::pg_catalog.text, backend_pid, txid, checksum, prev_hash, hash,"
		" NULL::pg_catalog.text"
		" FROM migrate.history ORDER BY id");
	char		last_hash[MIGRATE_HASH_HEXLEN + 1] = "";
	bool		have_last = false;
	int64		last_id = 0;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext batch_cxt = AllocSetContextCreate(outer, "migrate verify batch",
													ALLOCSET_DEFAULT_SIZES);

	while (fetch_batch(portal, batch_cxt))
	{
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			HistoryRow	row;
			int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			char	   *stored;
			char		actual[MIGRATE_HASH_HEXLEN + 1];
			Datum		d;

			row.operation_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			row.operation = text_or_null(tup, desc, 3);
			row.revision = text_or_null(tup, desc, 4);
			row.target = text_or_null(tup, desc, 5);
			row.success = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
			row.sqlstate = text_or_null(tup, desc, 7);
			row.error = text_or_null(tup, desc, 8);
			row.started_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 9, &isnull));
			row.duration = *DatumGetIntervalP(SPI_getbinval(tup, desc, 10, &isnull));
			row.session_role = pstrdup(NameStr(*DatumGetName(SPI_getbinval(tup, desc, 11, &isnull))));
			row.effective_role = pstrdup(NameStr(*DatumGetName(SPI_getbinval(tup, desc, 12, &isnull))));
			row.application_name = text_or_null(tup, desc, 13);
			row.client_addr = text_or_null(tup, desc, 14);
			row.backend_pid = DatumGetInt32(SPI_getbinval(tup, desc, 15, &isnull));
			d = SPI_getbinval(tup, desc, 16, &isnull);
			row.txid = isnull ? 0 : U64FromFullTransactionId(DatumGetFullTransactionId(d));
			row.checksum = text_or_null(tup, desc, 17);
			row.prev_hash = text_or_null(tup, desc, 18);
			stored = text_or_null(tup, desc, 19);
			row.detail = text_or_null(tup, desc, 20);

			history_row_hash(&row, actual);
			if (strcmp(actual, stored) != 0)
				problems = add_problem(problems, "history row altered", row.revision,
									   psprintf("History row %lld no longer matches its hash.", (long long) id));

			if (!have_last && row.prev_hash != NULL)
				problems = add_problem(problems, "history chain broken", row.revision,
									   psprintf("History row %lld is the first row but links to an earlier one: rows before it were deleted.",
												(long long) id));
			else if (have_last &&
					 (row.prev_hash == NULL || strcmp(row.prev_hash, last_hash) != 0))
				problems = add_problem(problems, "history chain broken", row.revision,
									   psprintf("History row %lld does not link to row %lld before it: rows between them were deleted or altered.",
												(long long) id, (long long) last_id));
			strlcpy(last_hash, stored, sizeof(last_hash));
			have_last = true;
			last_id = id;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(batch_cxt);
	return problems;
}

PG_FUNCTION_INFO_V1(migrate_verify);

/* migrate.verify(): one row per integrity problem; none when all is well. */
Datum
migrate_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	List	   *problems = NIL;
	bool		arrays_ok;
	bool		references_ok;
	bool		has_detail = catalog_history_has_detail();
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	catalog_connect();
	problem_cxt = CurrentMemoryContext;

	problems = check_revision_checksums(problems, &arrays_ok);
	problems = check_invariants(problems, &references_ok);
	problems = check_recorded_values(problems, has_detail);
	/* the graph cannot be loaded from malformed lists */
	if (references_ok && arrays_ok)
	{
		Graph	   *g = graph_load(true);

		if (graph_has_cycle(g))
			problems = add_problem(problems, "cycle", NULL,
								   pstrdup("The revision graph contains a cycle."));
	}
	problems = check_history_chain(problems, has_detail);

	foreach(lc, problems)
	{
		Problem    *p = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {false, p->revision == NULL, false};

		values[0] = CStringGetTextDatum(p->problem);
		values[1] = p->revision ? CStringGetTextDatum(p->revision) : (Datum) 0;
		values[2] = CStringGetTextDatum(p->detail);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* check()'s last test: 55000 when the schema drifted (README, "Drift"). */
static void
check_drift(void)
{
	int			count;
	char	   *detail = drift_check_detail(&count);

	if (detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the schema has drifted from what migrate recorded"),
				 errdetail_internal("%s", detail),
				 errhint("Run \"SELECT * FROM migrate.drift()\" for details, then accept the drift with \"SELECT migrate.accept_drift('reason')\" or undo it with a revision.")));
}

PG_FUNCTION_INFO_V1(migrate_check);

/*
 * migrate.check(): silent when every revision is applied and none drifted;
 * 55000 otherwise, listing what is pending and what drifted.
 */
Datum
migrate_check(PG_FUNCTION_ARGS)
{
	Graph	   *g;
	List	   *drift;
	char	  **pending_ids;
	char	  **drifted_ids;
	char	   *pending;
	char	   *drifted;
	int			npending = 0;
	ListCell   *lc;
	bool		arrays_ok;

	catalog_connect();
	problem_cxt = CurrentMemoryContext;

	g = graph_load(true);
	pending_ids = palloc(sizeof(char *) * Max(g->nrevs, 1));
	for (int i = 0; i < g->nrevs; i++)
		if (!g->revs[i].applied)
			pending_ids[npending++] = g->revs[i].id;
	pending = quoted_names(pending_ids, npending, npending, 10);

	drift = NIL;
	foreach(lc, check_revision_checksums(NIL, &arrays_ok))
	{
		Problem    *p = lfirst(lc);

		if (strcmp(p->problem, "checksum drift") == 0)
			drift = lappend(drift, p);
	}
	drifted_ids = palloc(sizeof(char *) * Max(list_length(drift), 1));
	foreach(lc, drift)
		drifted_ids[foreach_current_index(lc)] = ((Problem *) lfirst(lc))->revision;
	drifted = quoted_names(drifted_ids, list_length(drift), list_length(drift), INT_MAX);

	if (npending > 0 || drift != NIL)
	{
		StringInfoData detail;

		initStringInfo(&detail);
		if (npending > 0)
			appendStringInfo(&detail, ngettext("%d revision is pending: %s.",
											   "%d revisions are pending: %s.", npending),
							 npending, pending);
		if (npending > 0 && drift != NIL)
			appendStringInfoChar(&detail, ' ');
		if (drift != NIL)
			appendStringInfo(&detail, ngettext("%d applied revision has changed since it was applied: %s.",
											   "%d applied revisions have changed since they were applied: %s.",
											   list_length(drift)),
							 list_length(drift), drifted);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 npending > 0 ? errmsg("the database is not up to date") :
				 errmsg("applied revisions have changed"),
				 errdetail_internal("%s", detail.data),
				 npending > 0 ?
				 errhint("Run \"SELECT * FROM migrate.upgrade('heads')\" to apply the pending revisions.") :
				 errhint("Run \"SELECT * FROM migrate.verify()\" for details.")));
	}
	check_drift();

	SPI_finish();
	PG_RETURN_VOID();
}
