/*
 * listing.c
 *		The read-only functions: current, heads, revisions, show and plan.
 *		They take no lock and change nothing.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"

/* Emits revision ids as rows of a SETOF text result. */
static void
put_ids(ReturnSetInfo *rsinfo, Graph *g, int *revs, int n)
{
	for (int i = 0; i < n; i++)
	{
		Datum		value = CStringGetTextDatum(g->revs[revs[i]].id);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
}

/* The current heads or the graph heads, one row each, in id order. */
static Datum
put_heads(FunctionCallInfo fcinfo, bool current)
{
	Graph	   *g;
	int			n;
	int		   *revs;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	catalog_connect();
	g = graph_load(true);
	revs = current ? graph_current_heads(g, &n) : graph_heads(g, &n);
	put_ids((ReturnSetInfo *) fcinfo->resultinfo, g, revs, n);
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(migrate_current);

/* migrate.current(): applied revisions no applied revision has as parent. */
Datum
migrate_current(PG_FUNCTION_ARGS)
{
	return put_heads(fcinfo, true);
}

PG_FUNCTION_INFO_V1(migrate_heads);

/* migrate.heads(): revisions no revision has as parent. */
Datum
migrate_heads(PG_FUNCTION_ARGS)
{
	return put_heads(fcinfo, false);
}

/* Refuses a range whose lower revision the upper side does not need. */
static void
range_not_ancestor(Graph *g, const char *range, int rev)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("range \"%s\" does not go from an ancestor to a descendant", range),
			 errdetail("Revision \"%s\" is not among the revisions that the upper side needs.",
					   g->revs[rev].id),
			 errhint("Put the older revision first, as in 'base:head', and both on one line of descent.")));
}

/*
 * Keeps of the upper side's revisions those on the branch that "X@..." on
 * the lower side names (Alembic's history -r X@base:B).
 */
static void
range_filter_branch(Graph *g, const char *lower, Target *upper)
{
	const char *at = strchr(lower, '@');
	bool	   *branch;
	int			n = 0;

	if (at == NULL)
		return;
	branch = graph_branch_members(g, revision_resolve(g, pnstrdup(lower, at - lower)));
	for (int i = 0; i < upper->nrevs; i++)
		if (branch[upper->revs[i]])
			upper->revs[n++] = upper->revs[i];
	upper->nrevs = n;
}

/*
 * The members of a range "A:B", as Alembic's history -r A:B: what B needs
 * (through parents and depends_on) that descends from A through parents.  A
 * that B does not need is an error.  An empty side is open: base or heads.
 */
static bool *
range_members(Graph *g, const char *range)
{
	const char *colon = strchr(range, ':');
	char	   *lower;
	const char *upper;
	Target	   *ut;
	Target	   *lt;
	bool	   *members;
	bool	   *below;

	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid range \"%s\"", range),
				 errdetail("A range is \"<from>:<to>\", where either side may be empty or a target such as base, head, heads or current."),
				 errhint("Use a range such as 'base:head', 'current:heads' or '0003:'.")));
	lower = pnstrdup(range, colon - range);
	upper = colon + 1;

	ut = target_resolve(g, *upper == '\0' ? "heads" : upper);
	if (*lower != '\0')
		range_filter_branch(g, lower, ut);
	members = target_closure(g, ut);
	if (*lower == '\0' || strcmp(lower, "base") == 0)
		return members;

	lt = target_resolve(g, lower);
	/* "current" with nothing applied, and X@base, have no lower bound */
	if (lt->kind != TARGET_REVISIONS || lt->nrevs == 0)
		return members;
	below = graph_new_marks(g);
	for (int i = 0; i < lt->nrevs; i++)
	{
		if (!members[lt->revs[i]])
			range_not_ancestor(g, range, lt->revs[i]);
		graph_mark_descendants(g, lt->revs[i], below, false);
	}
	for (int i = 0; i < g->nrevs; i++)
		members[i] = members[i] && below[i];
	return members;
}

PG_FUNCTION_INFO_V1(migrate_revisions);

/* migrate.revisions(range): the graph, newest first. */
Datum
migrate_revisions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	Graph	   *g;
	bool	   *members;
	int			n;
	int		   *order;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	catalog_connect();
	g = graph_load(true);

	if (PG_ARGISNULL(0))
	{
		members = graph_new_marks(g);
		memset(members, true, sizeof(bool) * g->nrevs);
	}
	else
		members = range_members(g, text_to_cstring(PG_GETARG_TEXT_PP(0)));

	order = graph_order(g, members, &n);
	for (int k = n - 1; k >= 0; k--)
	{
		Revision   *r = &g->revs[order[k]];
		Datum		values[9];
		bool		nulls[9] = {0};
		char	  **names = palloc(sizeof(char *) * Max(Max(r->nparents, r->ndepends), 1));

		values[0] = CStringGetTextDatum(r->id);
		for (int j = 0; j < r->nparents; j++)
			names[j] = g->revs[r->parents[j]].id;
		values[1] = PointerGetDatum(strings_to_array(names, r->nparents));
		values[2] = CStringGetTextDatum(r->message);
		values[3] = PointerGetDatum(strings_to_array(r->labels, r->nlabels));
		for (int j = 0; j < r->ndepends; j++)
			names[j] = g->revs[r->depends[j]].id;
		values[4] = PointerGetDatum(strings_to_array(names, r->ndepends));
		values[5] = BoolGetDatum(r->applied);
		values[6] = BoolGetDatum(graph_is_head(g, order[k]));
		values[7] = BoolGetDatum(graph_is_current(g, order[k]));
		/* 1.0's revisions() has eight columns: the ninth is not read there */
		values[8] = BoolGetDatum(r->transactional);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(names);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * The columns of migrate.revision that show() returns first, in its order,
 * then transactional (1.1), which show() returns last.
 */
static const char *const show_columns[11] = {
	"id", "parents", "depends_on", "branch_labels", "message", "up_sql", "down_sql",
	"checksum", "created_at", "created_by", "transactional"
};

/*
 * Reads the row of show() but children: revision id's columns, whether it
 * is applied, and its transactional mark (true in 1.0's catalogs).
 */
static bool
show_read(const char *id, Datum *values, bool *nulls)
{
	Datum		cols[11];
	bool		colnulls[11];
	bool		has_mark = catalog_has_transactional();
	bool		applied;

	if (!catalog_read_revision(id, false, has_mark ? 11 : 10, show_columns, cols, colnulls,
							   &applied))
		return false;
	memcpy(values, cols, sizeof(Datum) * 10);
	memcpy(nulls, colnulls, sizeof(bool) * 10);
	values[11] = BoolGetDatum(applied);
	values[12] = has_mark ? cols[10] : BoolGetDatum(true);
	return true;
}

/* The children of a revision, by the index on parents, in id order. */
static ArrayType *
children_by_index(const char *id)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(id)};
	int			n;
	char	  **children;

	catalog_exec("SELECT r.id FROM migrate.revision r WHERE r.parents @> ARRAY[$1]"
				 " ORDER BY r.id COLLATE \"C\"",
				 1, argtypes, args, NULL, true, 0);
	n = (int) SPI_processed;
	children = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		children[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
	return strings_to_array(children, n);
}

/*
 * Fills the row of show() for a label or an id prefix, which only the whole
 * graph resolves: its children come with it.
 */
static void
show_by_graph(const char *ref, Datum *values, bool *nulls)
{
	Graph	   *g = graph_load(true);
	Revision   *r = &g->revs[revision_resolve(g, ref)];
	char	  **children;

	if (!show_read(r->id, values, nulls))
		elog(ERROR, "revision \"%s\" vanished", r->id);
	children = palloc(sizeof(char *) * Max(r->nchildren, 1));
	for (int j = 0; j < r->nchildren; j++)
		children[j] = g->revs[r->children[j]].id;
	values[10] = PointerGetDatum(strings_to_array(children, r->nchildren));
}

PG_FUNCTION_INFO_V1(migrate_show);

/*
 * migrate.show(revision): one revision, by id, label or unique prefix.  An
 * exact id is read by index, with its children, without loading the graph;
 * the rows are read with the query's snapshot, as everywhere in listing.c.
 */
Datum
migrate_show(PG_FUNCTION_ARGS)
{
	char	   *ref = required_text_arg(fcinfo, 0, "revision");
	ReturnSetInfo *rsinfo;
	Datum		values[13];
	bool		nulls[13] = {0};

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	validate_name(ref, NAME_REVISION);
	catalog_connect();
	/* 1.0's show() has twelve columns: the thirteenth is not read there */
	if (show_read(ref, values, nulls))
		values[10] = PointerGetDatum(children_by_index(ref));
	else
		show_by_graph(ref, values, nulls);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

	SPI_finish();
	return (Datum) 0;
}

/* The operation plan() names: upgrade, downgrade or stamp. */
static OperationKind
plan_operation(const char *opname)
{
	if (strcmp(opname, "upgrade") == 0)
		return OP_UPGRADE;
	if (strcmp(opname, "downgrade") == 0)
		return OP_DOWNGRADE;
	if (strcmp(opname, "stamp") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid operation \"%s\"", opname),
				 errhint("The operation is upgrade, downgrade or stamp.")));
	return OP_STAMP;
}

PG_FUNCTION_INFO_V1(migrate_plan);

/*
 * migrate.plan(operation, target): the steps the operation would take, and
 * (1.1) the lint findings of the SQL each step runs: NULL for a stamp step,
 * which runs none.  1.0's plan() has four columns: the fifth is not made
 * there.  Each step is linted in a memory context of its own.
 */
Datum
migrate_plan(PG_FUNCTION_ARGS)
{
	char	   *opname = required_text_arg(fcinfo, 0, "operation");
	char	   *target = required_text_arg(fcinfo, 1, "target");
	OperationKind op = plan_operation(opname);
	ReturnSetInfo *rsinfo;
	Graph	   *g;
	StepPlan   *plan;
	MemoryContext stepcxt;
	bool		with_findings;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	with_findings = rsinfo->setDesc->natts >= 5;
	catalog_connect();
	g = graph_load(true);
	plan = plan_build(g, op, target_resolve(g, target), target);
	stepcxt = AllocSetContextCreate(CurrentMemoryContext, "migrate plan step",
									ALLOCSET_DEFAULT_SIZES);

	for (int i = 0; i < plan->nsteps; i++)
	{
		Revision   *r = &g->revs[plan->steps[i]];
		Datum		values[5];
		bool		nulls[5] = {0};
		MemoryContext old = MemoryContextSwitchTo(stepcxt);

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(r->id);
		if (op == OP_STAMP)
			values[2] = CStringGetTextDatum(plan->unapply[i] ? "unstamp" : "stamp");
		else
			values[2] = CStringGetTextDatum(opname);
		values[3] = CStringGetTextDatum(r->message);
		nulls[4] = op == OP_STAMP || !with_findings;
		if (!nulls[4])
			values[4] = PointerGetDatum(lint_step_findings(r->id, plan->unapply[i]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(stepcxt);
	}
	SPI_finish();
	return (Datum) 0;
}
