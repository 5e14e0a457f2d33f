/*
 * offline.c
 *		Offline SQL (Alembic's --sql): upgrade_sql and downgrade_sql write one
 *		psql script that does what upgrade or downgrade would, for review and
 *		for deploy pipelines that only run SQL files.
 *
 * The script is planned from "start" instead of the live state.  It runs in
 * one transaction: the deploy lock, migrate.offline_begin() (which refuses a
 * database that is not in the state the script starts from), then for each
 * revision its SQL and migrate.offline_step(), which writes migrate.applied
 * and the history row.  The history rows are written by the server because
 * each one's hash chains to the row before it, which only exists when the
 * script runs.
 *
 * A plan holding a non-transactional revision gives a script in segments,
 * each guarded by psql's \if so that a run after a failure skips what is
 * done: consecutive transactional revisions in one transaction as above; a
 * non-transactional one's statements each alone, under the step lock (see
 * lock.c), then its bookkeeping in a transaction of its own.
 *
 * upgrade_sql(..., register => true) writes a self-contained script: it
 * also creates the extension where it is missing and registers, through
 * migrate.add() calls, every revision the target needs, before the steps
 * and under the same guard, so that it brings an empty database to the
 * target and a second run skips what is done.
 */
#include "migrate.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* The offline operation this transaction began, if any. */
typedef struct OfflineState
{
	LocalTransactionId lxid;
	char		operation[16];
	char	   *target;
	int64		operation_id;
	TimestampTz last_step_at;
	DriftTrack	drift;			/* what the script's revision since the last step touched */
	MemoryContext drift_cxt;	/* of drift, one per step */
} OfflineState;

static OfflineState offline = {InvalidLocalTransactionId};

/* A psql-safe single-quoted literal. */
static void
append_literal(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoChar(buf, '\'');
		appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '\'');
}

/* Appends strings as a text[] literal. */
static void
append_string_array(StringInfo buf, char **elems, int n)
{
	appendStringInfoString(buf, "ARRAY[");
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		append_literal(buf, elems[i]);
	}
	appendStringInfoString(buf, "]::text[]");
}

/* Appends the member revisions as a text[] literal, in id order. */
static void
append_id_array(StringInfo buf, Graph *g, const bool *members)
{
	char	  **ids = palloc(sizeof(char *) * Max(g->nrevs, 1));
	int			n = 0;

	for (int i = 0; i < g->nrevs; i++)
		if (members[i])
			ids[n++] = g->revs[i].id;
	append_string_array(buf, ids, n);
	pfree(ids);
}

/* Sets the graph's applied flags to the state the script starts from. */
static void
apply_start(Graph *g, const char *start)
{
	bool	   *marks;

	if (strcmp(start, "current") == 0)
		return;
	marks = target_closure(g, target_resolve(g, start));
	for (int i = 0; i < g->nrevs; i++)
		g->revs[i].applied = marks[i];
}

/* Appends one revision's SQL and its offline_step() call. */
static void
append_step(StringInfo buf, OperationKind op, Revision *r, int step, int nsteps)
{
	char	   *sql = catalog_fetch_sql(r->id, op == OP_DOWNGRADE);

	appendStringInfo(buf, "\n-- %s %d/%d: revision %s%s%s%s\n", operation_name(op), step, nsteps,
					 r->id, r->message[0] ? " - " : "", r->message,
					 r->transactional ? "" : " (non-transactional: each statement alone)");
	if (sql != NULL && sql[0] != '\0')
		/* on a line of its own: the SQL may end inside a line comment */
		appendStringInfo(buf, "%s\n;\n", sql_statements_on_own_lines(sql));
	if (!r->transactional)
		return;
	appendStringInfoString(buf, "SELECT migrate.offline_step(");
	append_literal(buf, r->id);
	appendStringInfoString(buf, ", ");
	append_literal(buf, r->checksum);
	appendStringInfoString(buf, ");\n");
}

/* Appends a transaction start and the deploy lock. */
static void
append_lock(StringInfo buf)
{
	appendStringInfoString(buf, "BEGIN;\n-- the deploy lock: concurrent deployers wait here\n");
	appendStringInfo(buf, "SELECT pg_catalog.pg_advisory_xact_lock(" INT64_FORMAT ");\n",
					 MIGRATE_LOCK_KEY);
}

/* Appends the offline_begin() call that checks the state the script starts from. */
static void
append_offline_begin(StringInfo buf, OperationKind op, Graph *g, const char *target,
					 const bool *start_set)
{
	appendStringInfoString(buf, "-- refuses a database that is not in the state this script starts from\n");
	appendStringInfo(buf, "SELECT migrate.offline_begin('%s', ", operation_name(op));
	append_literal(buf, target);
	appendStringInfoString(buf, ", ");
	append_id_array(buf, g, start_set);
	appendStringInfoString(buf, ");\n");
}

/* Appends the transaction start that every part of a script begins with. */
static void
append_begin(StringInfo buf, OperationKind op, Graph *g, const char *target, const bool *start_set)
{
	append_lock(buf);
	append_offline_begin(buf, op, g, target, start_set);
}

/*
 * Appends the psql guard of a part that ends with revision last: the part
 * is skipped when last is already where the part takes it.
 */
static void
append_guard(StringInfo buf, OperationKind op, Revision *last)
{
	appendStringInfo(buf, "\nSELECT %sEXISTS (SELECT 1 FROM migrate.applied WHERE revision = ",
					 op == OP_UPGRADE ? "" : "NOT ");
	append_literal(buf, last->id);
	appendStringInfoString(buf, ") AS migrate_done \\gset\n\\if :migrate_done\n");
	appendStringInfo(buf, "\\echo 'skipped: revision %s is %s'\n\\else\n", last->id,
					 op == OP_UPGRADE ? "applied" : "not applied");
}

/*
 * Appends the psql guard of a self-contained script's registrations (and, in
 * one transaction, its steps): they are skipped when every revision of the
 * plan is applied, and only then, whatever order other deploys applied them in.
 */
static void
append_plan_guard(StringInfo buf, Graph *g, StepPlan *plan)
{
	bool	   *members = graph_new_marks(g);

	for (int i = 0; i < plan->nsteps; i++)
		members[plan->steps[i]] = true;
	appendStringInfoString(buf, "\nSELECT NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(");
	append_id_array(buf, g, members);
	appendStringInfoString(buf, ") AS r\n"
						   "                   WHERE NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r))"
						   " AS migrate_done \\gset\n\\if :migrate_done\n"
						   "\\echo 'skipped: every revision of the plan is applied'\n\\else\n");
}

/*
 * Appends a non-transactional revision: its statements outside any
 * transaction under the step lock, then its bookkeeping.
 */
static void
append_stepwise(StringInfo buf, OperationKind op, Graph *g, const char *target,
				const bool *start_set, Revision *r, int step, int nsteps)
{
	append_begin(buf, op, g, target, start_set);
	appendStringInfoString(buf, "-- the step lock, for the session: deployers wait for it without a snapshot\n");
	appendStringInfo(buf, "SELECT pg_catalog.pg_advisory_lock(" INT64_FORMAT ");\nCOMMIT;\n",
					 MIGRATE_STEP_LOCK_KEY);
	append_step(buf, op, r, step, nsteps);
	appendStringInfoString(buf, "-- its bookkeeping\n");
	append_begin(buf, op, g, target, start_set);
	appendStringInfoString(buf, "SELECT migrate.offline_step(");
	append_literal(buf, r->id);
	appendStringInfoString(buf, ", ");
	append_literal(buf, r->checksum);
	appendStringInfoString(buf, ");\nCOMMIT;\n");
	appendStringInfo(buf, "SELECT pg_catalog.pg_advisory_unlock(" INT64_FORMAT ");\n",
					 MIGRATE_STEP_LOCK_KEY);
}

/*
 * Appends the steps of a plan holding non-transactional revisions, part by
 * part, each guarded; start_set moves with the parts.
 */
static void
append_parts(StringInfo buf, OperationKind op, Graph *g, StepPlan *plan, const char *target,
			 bool *start_set)
{
	int			i = 0;

	while (i < plan->nsteps)
	{
		Revision   *r = &g->revs[plan->steps[i]];
		int			end = i + 1;

		if (r->transactional)
			while (end < plan->nsteps && g->revs[plan->steps[end]].transactional)
				end++;
		append_guard(buf, op, &g->revs[plan->steps[end - 1]]);
		if (!r->transactional)
			append_stepwise(buf, op, g, target, start_set, r, i + 1, plan->nsteps);
		else
		{
			append_begin(buf, op, g, target, start_set);
			for (int k = i; k < end; k++)
				append_step(buf, op, &g->revs[plan->steps[k]], k + 1, plan->nsteps);
			appendStringInfoString(buf, "COMMIT;\n");
		}
		appendStringInfoString(buf, "\\endif\n");
		for (int k = i; k < end; k++)
			start_set[plan->steps[k]] = (op == OP_UPGRADE);
		i = end;
	}
}

/* Whether a plan holds a non-transactional revision. */
static bool
plan_has_stepwise(Graph *g, StepPlan *plan)
{
	for (int i = 0; i < plan->nsteps; i++)
		if (!g->revs[plan->steps[i]].transactional)
			return true;
	return false;
}

/* A revision as a self-contained script registers it: add()'s arguments. */
typedef struct Registration
{
	Revision   *rev;
	char	   *up;
	char	   *down;			/* NULL: irreversible */
	ArrayType  *parents;		/* as stored: their order is in the checksum */
	ArrayType  *depends;
	ArrayType  *labels;
} Registration;

/*
 * The revisions target t needs, parents and dependencies first (the order
 * add() accepts them in), with their columns read with the graph's snapshot.
 */
static Registration *
read_registrations(Graph *g, Target *t, int *n)
{
	static const char *const cols[5] = {"parents", "depends_on", "branch_labels", "up_sql", "down_sql"};
	int		   *order = graph_order(g, target_closure(g, t), n);
	Registration *regs = palloc(sizeof(Registration) * Max(*n, 1));

	for (int i = 0; i < *n; i++)
	{
		Registration *reg = &regs[i];
		Datum		values[5];
		bool		nulls[5];

		CHECK_FOR_INTERRUPTS();
		reg->rev = &g->revs[order[i]];
		if (!catalog_read_revision(reg->rev->id, false, 5, cols, values, nulls, NULL))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("revision \"%s\" does not exist", reg->rev->id)));
		reg->parents = DatumGetArrayTypeP(values[0]);
		reg->depends = DatumGetArrayTypeP(values[1]);
		reg->labels = DatumGetArrayTypeP(values[2]);
		reg->up = TextDatumGetCString(values[3]);
		reg->down = nulls[4] ? NULL : TextDatumGetCString(values[4]);
	}
	return regs;
}

#define DOLLAR_TAG_WORD "$migrate"

/*
 * Marks used[k] for each tag the script could choose that occurs in s:
 * "$migrate$" is k = 0, "$migrate<k>$" (no leading zero) is k; only k <= max.
 */
static void
mark_used_tags(const char *s, bool *used, int64 max)
{
	for (const char *p = strstr(s, DOLLAR_TAG_WORD); p != NULL; p = strstr(p + 1, DOLLAR_TAG_WORD))
	{
		const char *q = p + strlen(DOLLAR_TAG_WORD);
		int64		k = 0;
		int			ndigits = 0;

		while (isdigit((unsigned char) q[ndigits]) && ndigits < 18)
			k = k * 10 + (q[ndigits++] - '0');
		if (q[ndigits] == '$' && k <= max && (ndigits == 0 || q[0] != '0'))
			used[k] = true;
	}
}

/*
 * The dollar-quote tag that the registrations' SQL is quoted with: the first
 * of $migrate$, $migrate1$, $migrate2$, ... that occurs in none of it, so
 * that no SQL can end the quote early.  Linear in the SQL's length: each
 * occurrence takes at least 8 bytes, so one of the first total / 8 + 1
 * tags is free.
 */
static char *
dollar_tag(Registration *regs, int n)
{
	int64		total = 0;
	int64		max;
	bool	   *used;
	int64		k = 0;

	for (int i = 0; i < n; i++)
		total += strlen(regs[i].up) + (regs[i].down ? strlen(regs[i].down) : 0);
	max = total / strlen(DOLLAR_TAG_WORD) + 1;
	used = palloc0(sizeof(bool) * (max + 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		mark_used_tags(regs[i].up, used, max);
		if (regs[i].down != NULL)
			mark_used_tags(regs[i].down, used, max);
	}
	while (used[k])
		k++;
	pfree(used);
	return k == 0 ? pstrdup(DOLLAR_TAG_WORD "$") : psprintf(DOLLAR_TAG_WORD INT64_FORMAT "$", k);
}

/* Appends ",\n  name => ARRAY[...]::text[]"; an empty list only when always. */
static void
append_names_argument(StringInfo buf, const char *name, ArrayType *arr, bool always)
{
	int			n;
	char	  **names = array_to_strings(arr, name, &n);

	if (n == 0 && !always)
		return;
	appendStringInfo(buf, ",\n  %s => ", name);
	append_string_array(buf, names, n);
}

/*
 * Appends the migrate.add() call that registers a revision as it is here:
 * its SQL in dollar quotes as it is stored, so the same checksum.  Named
 * arguments, and transactional only when false, so that the call is the
 * same for 1.0's add() and 1.1's.
 */
static void
append_add_call(StringInfo buf, Registration *reg, const char *tag, int step, int nsteps)
{
	Revision   *r = reg->rev;

	appendStringInfo(buf, "\n-- register %d/%d: revision %s%s%s\n", step, nsteps, r->id,
					 r->message[0] ? " - " : "", r->message);
	appendStringInfoString(buf, "SELECT migrate.add(");
	append_literal(buf, r->id);
	appendStringInfo(buf, ",\n  up => %s%s%s", tag, reg->up, tag);
	if (reg->down != NULL)
		appendStringInfo(buf, ",\n  down => %s%s%s", tag, reg->down, tag);
	else
		appendStringInfoString(buf, ",\n  down => NULL");
	append_names_argument(buf, "parents", reg->parents, true);
	append_names_argument(buf, "depends_on", reg->depends, false);
	append_names_argument(buf, "branch_labels", reg->labels, false);
	if (r->message[0] != '\0')
	{
		appendStringInfoString(buf, ",\n  message => ");
		append_literal(buf, r->message);
	}
	if (!r->transactional)
		appendStringInfoString(buf, ",\n  transactional => false");
	appendStringInfoString(buf, ");\n");
}

/* The version of migrate installed here: the one a self-contained script creates. */
static char *
extension_version(void)
{
	catalog_exec("SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'migrate'",
				 0, NULL, NULL, NULL, true, 1);
	if (SPI_processed != 1)
		elog(ERROR, "extension \"migrate\" is not installed");
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Appends the start of a self-contained script: in a transaction under the
 * deploy lock, the extension where it is missing, then the registration of
 * every revision target t needs, guarded by the plan's revisions (a second
 * run skips it).  A plan in parts commits it and goes on part by
 * part; otherwise the steps follow in the same transaction and guard.
 */
static void
append_registration(StringInfo buf, Graph *g, Target *t, StepPlan *plan, bool parts)
{
	int			nregs;
	Registration *regs = read_registrations(g, t, &nregs);
	char	   *tag = dollar_tag(regs, nregs);

	append_lock(buf);
	appendStringInfoString(buf, "-- the extension, where the database does not have it yet\n"
						   "CREATE EXTENSION IF NOT EXISTS migrate VERSION ");
	append_literal(buf, extension_version());
	appendStringInfoString(buf, ";\n");
	if (plan->nsteps > 0)
		append_plan_guard(buf, g, plan);
	appendStringInfo(buf, "-- the revisions the target needs (%d), as registered where the script was made:\n"
					 "-- add() does nothing for a revision registered the same\n", nregs);
	for (int i = 0; i < nregs; i++)
		append_add_call(buf, &regs[i], tag, i + 1, nregs);
	if (!parts)
		return;
	appendStringInfoString(buf, "\\endif\nCOMMIT;\n");
}

/*
 * Reads upgrade_sql()'s and downgrade_sql()'s arguments.  1.0's upgrade_sql()
 * has no argument register.  With register, start 'current' is base: the
 * script is for another database, without the revisions.
 */
static void
read_script_arguments(FunctionCallInfo fcinfo, char **target, char **start, bool *registering)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target must not be null"),
				 errhint("Use 'head' for the latest revision or 'base' for nothing applied.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start must not be null"),
				 errhint("Use 'current' as the start to plan from the live state.")));
	if (PG_NARGS() > 2 && PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("register must not be null"),
				 errhint("Use true for a script that also registers the revisions, false for one that expects them registered.")));
	*target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	*start = text_to_cstring(PG_GETARG_TEXT_PP(1));
	*registering = PG_NARGS() > 2 && PG_GETARG_BOOL(2);
	if (*registering && strcmp(*start, "current") == 0)
		*start = pstrdup("base");
}

/* Appends a script's first lines: what it does and how to run it. */
static void
append_header(StringInfo buf, OperationKind op, const char *start, const char *target,
			  int nsteps, bool registering)
{
	appendStringInfo(buf, nsteps == 1 ?
					 "-- migrate: %s from \"%s\" to \"%s\": %d revision\n" :
					 "-- migrate: %s from \"%s\" to \"%s\": %d revisions\n",
					 operation_name(op), start, target, nsteps);
	appendStringInfoString(buf,
						   "-- Run it in one go with: psql -X -v ON_ERROR_STOP=1 -f <this file>\n"
						   "\\set ON_ERROR_STOP on\n"
						   "-- the revisions' SQL was checked as it reads with this setting\n"
						   "SET standard_conforming_strings = on;\n");
	if (registering)
		appendStringInfoString(buf,
							   "-- Self-contained: it creates the extension where it is missing and registers the\n"
							   "-- revisions first, so it brings a database without them to the target.\n");
}

/* upgrade_sql() and downgrade_sql(): plans from start, writes the script. */
static text *
generate_script(FunctionCallInfo fcinfo, OperationKind op)
{
	MemoryContext fn_cxt = CurrentMemoryContext;
	char	   *target;
	char	   *start;
	bool		registering;
	Graph	   *g;
	Target	   *t;
	StepPlan   *plan;
	bool	   *start_set;
	bool		parts;
	StringInfoData buf;
	text	   *result;

	read_script_arguments(fcinfo, &target, &start, &registering);
	catalog_connect();
	g = graph_load(true);
	apply_start(g, start);
	start_set = graph_new_marks(g);
	for (int i = 0; i < g->nrevs; i++)
		start_set[i] = g->revs[i].applied;
	t = target_resolve(g, target);
	plan = plan_build(g, op, t, target);
	parts = plan_has_stepwise(g, plan);

	initStringInfo(&buf);
	append_header(&buf, op, start, target, plan->nsteps, registering);
	if (parts)
		appendStringInfoString(&buf,
							   "-- It commits part by part: non-transactional revisions run outside a transaction.\n"
							   "-- Run again after a failure, it skips the parts already done.\n");
	if (registering)
		append_registration(&buf, g, t, plan, parts);
	if (parts)
		append_parts(&buf, op, g, plan, target, start_set);
	else
	{
		if (!registering)
			append_lock(&buf);
		append_offline_begin(&buf, op, g, target, start_set);
		for (int i = 0; i < plan->nsteps; i++)
			append_step(&buf, op, &g->revs[plan->steps[i]], i + 1, plan->nsteps);
		appendStringInfoString(&buf, registering && plan->nsteps > 0 ? "\n\\endif\nCOMMIT;\n" : "\nCOMMIT;\n");
	}

	MemoryContextSwitchTo(fn_cxt);
	result = cstring_to_text_with_len(buf.data, buf.len);
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(migrate_upgrade_sql);

/* migrate.upgrade_sql(target, start, register): the offline script of an upgrade. */
Datum
migrate_upgrade_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(generate_script(fcinfo, OP_UPGRADE));
}

PG_FUNCTION_INFO_V1(migrate_downgrade_sql);

/* migrate.downgrade_sql(target, start): the offline script of a downgrade. */
Datum
migrate_downgrade_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(generate_script(fcinfo, OP_DOWNGRADE));
}

/*
 * The detail of offline_begin's refusal: the revisions applied where the
 * script starts but not here, and those applied here but not there.
 */
static int
errdetail_start_mismatch(const char *missing, int64 nmissing, const char *extra, int64 nextra)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (nmissing > 0)
		appendStringInfo(&buf, ngettext("Revision %s is applied where the script starts, but not here.",
										"Revisions %s are applied where the script starts, but not here.",
										nmissing),
						 missing);
	if (nmissing > 0 && nextra > 0)
		appendStringInfoChar(&buf, ' ');
	if (nextra > 0)
		appendStringInfo(&buf, ngettext("Revision %s is applied here, but not where the script starts.",
										"Revisions %s are applied here, but not where the script starts.",
										nextra),
						 extra);
	return errdetail_internal("%s", buf.data);
}

/* Refuses a database whose applied set is not the one the script starts from. */
static void
check_start_state(Datum start)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		args[1] = {start};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int64		nmissing;
	int64		nextra;

	catalog_exec("SELECT m.list, m.n, e.list, e.n FROM"
				 " (SELECT pg_catalog.string_agg(pg_catalog.format('\"%s\"', x), ', ' ORDER BY x COLLATE \"C\"),"
				 "         pg_catalog.count(*)"
				 "    FROM pg_catalog.unnest($1) AS x"
				 "   WHERE NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = x)) AS m(list, n),"
				 " (SELECT pg_catalog.string_agg(pg_catalog.format('\"%s\"', a.revision), ', '"
				 "                               ORDER BY a.revision COLLATE \"C\"),"
				 "         pg_catalog.count(*)"
				 "    FROM migrate.applied a WHERE a.revision <> ALL ($1)) AS e(list, n)",
				 1, argtypes, args, NULL, false, 1);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	nmissing = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	nextra = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	if (nmissing > 0 || nextra > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the database is not in the state this script starts from"),
				 errdetail_start_mismatch(SPI_getvalue(tup, desc, 1), nmissing,
										  SPI_getvalue(tup, desc, 3), nextra),
				 errhint("Generate the script again for this database, or from start => 'current'.")));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * The registrant rule holds offline too: rebuilds the script's plan from its
 * start and target, and refuses before any of its SQL runs.
 */
static void
check_script_registrants(OperationKind op, const char *target, ArrayType *start_arr)
{
	Graph	   *g = graph_load(false);
	int			nstart;
	char	  **start = array_to_strings(start_arr, "start", &nstart);

	for (int i = 0; i < g->nrevs; i++)
		g->revs[i].applied = false;
	for (int i = 0; i < nstart; i++)
	{
		int			rev = graph_find_id(g, start[i]);

		if (rev >= 0)
			g->revs[rev].applied = true;
	}
	check_registrants(g, plan_build(g, op, target_resolve(g, target), target));
}

/*
 * Starts tracking what the script's next revision touches, in a memory
 * context of its own: a step may keep a whole model (drift_begin()), and a
 * script may have many steps.
 */
static void
offline_drift_begin(void)
{
	if (offline.drift_cxt != NULL)
		MemoryContextDelete(offline.drift_cxt);
	offline.drift_cxt = AllocSetContextCreate(TopTransactionContext, "migrate offline drift",
											  ALLOCSET_DEFAULT_SIZES);
	memset(&offline.drift, 0, sizeof(offline.drift));
	drift_begin(&offline.drift, offline.drift_cxt);
}

PG_FUNCTION_INFO_V1(migrate_offline_begin);

/*
 * migrate.offline_begin(operation, target, start): called by a generated
 * script; checks that the applied set is exactly the one it was planned from.
 */
Datum
migrate_offline_begin(PG_FUNCTION_ARGS)
{
	char	   *opname;
	AuditContext ac;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migrate.offline_begin() arguments must not be null")));
	opname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(opname, "upgrade") != 0 && strcmp(opname, "downgrade") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid operation \"%s\"", opname),
				 errhint("The operation is upgrade or downgrade.")));

	operation_begin("migrate.offline_begin()", 0);

	check_start_state(PG_GETARG_DATUM(2));
	check_script_registrants(strcmp(opname, "upgrade") == 0 ? OP_UPGRADE : OP_DOWNGRADE,
							 text_to_cstring(PG_GETARG_TEXT_PP(1)), PG_GETARG_ARRAYTYPE_P(2));

	audit_begin(&ac, "upgrade", NULL, 0);
	offline.lxid = migrate_local_xid();
	strlcpy(offline.operation, opname, sizeof(offline.operation));
	offline.target = MemoryContextStrdup(TopTransactionContext, text_to_cstring(PG_GETARG_TEXT_PP(1)));
	offline.operation_id = ac.operation_id;
	offline.last_step_at = GetCurrentTimestamp();
	/* the script's revisions are migrate's own DDL: their model is recorded, not drift */
	offline.drift_cxt = NULL;
	offline_drift_begin();
	ddlevent_script_begin();

	operation_end(0);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(migrate_offline_step);

/*
 * migrate.offline_step(revision, checksum): called by a generated script
 * after a revision's SQL; records it as applied (or unapplied) and writes its
 * history row.
 */
Datum
migrate_offline_step(PG_FUNCTION_ARGS)
{
	char	   *id;
	char	   *checksum;
	bool		upgrade;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	char	   *stored;
	bool		applied;
	int64		blockers;
	AuditContext ac;
	TimestampTz now;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migrate.offline_step() arguments must not be null")));
	if (offline.lxid != migrate_local_xid())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migrate.offline_step() needs migrate.offline_begin() earlier in the same transaction"),
				 errhint("Run the generated script whole, with psql -v ON_ERROR_STOP=1.")));
	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	checksum = text_to_cstring(PG_GETARG_TEXT_PP(1));
	upgrade = strcmp(offline.operation, "upgrade") == 0;

	operation_begin("migrate.offline_step()", 0);

	/* what blocks the step: unapplied ancestors for an upgrade, applied descendants for a downgrade */
	args[0] = CStringGetTextDatum(id);
	catalog_exec("SELECT r.checksum, EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r.id),"
				 " CASE WHEN NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r.id)"
				 "  THEN (SELECT pg_catalog.count(*) FROM pg_catalog.unnest(r.parents OPERATOR(pg_catalog.||) r.depends_on) p"
				 "        WHERE NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = p))"
				 "  ELSE (SELECT pg_catalog.count(*) FROM migrate.applied a JOIN migrate.revision c ON c.id = a.revision"
				 "        WHERE c.parents @> ARRAY[r.id] OR c.depends_on @> ARRAY[r.id]) END"
				 " FROM migrate.revision r WHERE r.id = $1",
				 1, argtypes, args, NULL, false, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", id),
				 errhint("Register the same revisions as the database the script was generated from.")));
	stored = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	applied = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	blockers = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	SPI_freetuptable(SPI_tuptable);

	if (strcmp(stored, checksum) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" differs from the one the script was generated from", id),
				 errdetail("Its checksum here is %s; the script has %s.", stored, checksum)));
	if (applied == upgrade || blockers > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 upgrade ?
				 errmsg("revision \"%s\" cannot be applied here", id) :
				 errmsg("revision \"%s\" cannot be unapplied here", id),
				 applied == upgrade ?
				 (upgrade ? errdetail("It is already applied.") : errdetail("It is not applied.")) :
				 (upgrade ? errdetail("Some of its parents or dependencies are not applied.") :
				  errdetail("Some revisions that build on it are applied."))));

	/* applied_at and applied_by are the history row's: verify() compares them */
	audit_begin(&ac, upgrade ? "upgrade" : "downgrade", offline.target, offline.operation_id);
	now = GetCurrentTimestamp();
	if (upgrade)
		catalog_set_applied(id, checksum, offline.last_step_at, ac.effective_role);
	else
		catalog_unset_applied(id);
	/* each step's row carries the schema fingerprint after it */
	drift_end(&offline.drift, true);
	audit_record(&ac, id, true, NULL, NULL, offline.last_step_at,
				 now - offline.last_step_at, checksum, drift_detail(&offline.drift, NULL));
	offline.last_step_at = now;
	offline_drift_begin();

	operation_end(0);
	PG_RETURN_VOID();
}
