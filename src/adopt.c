/*
 * adopt.c
 *		adopt_alembic() and adopt_flyway(): the state that another migration
 *		tool recorded in its own table, taken over by migrate.
 *
 * Each resolves the other tool's table as the caller names it and reads it
 * through SPI as the caller, with the caller's privileges, outside any
 * catalog scope; the name is resolved to an OID and quoted again, never
 * pasted into SQL.  Then, under the deploy lock, it marks applied the
 * registered revisions that the table says ran, parents first, one history
 * row "adopt" each, hash-chained like every other row.  Only a database
 * with nothing applied yet can adopt: the other tool's table is then the
 * whole truth about what ran, and a second call is refused.  adopt_flyway()
 * also copies every row of Flyway's history into migrate.history as an
 * "import" row, before the "adopt" rows.
 */
#include "migrate.h"

#include <ctype.h>

#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

/* What migrate expects of the other tool's table. */
typedef struct ToolTable
{
	const char *function_name;
	const char *const *columns;
	int			ncolumns;
	const char *columns_detail; /* which columns the tool creates */
	const char *name_hint;		/* how to name the table */
} ToolTable;

/* The other tool's table, resolved. */
typedef struct ForeignTable
{
	Oid			relid;
	char	   *qualified;		/* schema-qualified, quoted where needed */
} ForeignTable;

static const char *const alembic_columns[] = {"version_num"};

static const ToolTable alembic_table = {
	"migrate.adopt_alembic()", alembic_columns, lengthof(alembic_columns),
	"Alembic's version table has the column version_num, one row per head applied.",
	"Give the table that Alembic's version_table and version_table_schema settings name, schema-qualified if its schema is not on the search_path."
};

static const char *const flyway_columns[] = {
	"installed_rank", "version", "description", "type", "script", "checksum",
	"installed_by", "installed_on", "execution_time", "success"
};

static const ToolTable flyway_table = {
	"migrate.adopt_flyway()", flyway_columns, lengthof(flyway_columns),
	"Flyway's schema history table has the columns installed_rank, version, description, type, script, checksum, installed_by, installed_on, execution_time and success.",
	"Give the table that Flyway's table and defaultSchema settings name, schema-qualified if its schema is not on the search_path."
};

/*
 * Resolves the other tool's table as the caller would name it (qualified,
 * or found on the caller's search_path) and checks that it has the columns
 * that tool creates.  Takes no lock: the read as the caller takes it, after
 * checking the caller's privileges.
 */
static void
foreign_table_open(ForeignTable *ft, const char *given, const ToolTable *tool)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		relid;
	char		relkind;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = CStringGetTextDatum(given);
	fcinfo->args[0].isnull = false;
	relid = to_regclass(fcinfo);
	if (fcinfo->isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s does not exist", given),
				 errhint("%s", tool->name_hint)));
	ft->relid = DatumGetObjectId(relid);
	ft->qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(ft->relid)),
											   get_rel_name(ft->relid));

	relkind = get_rel_relkind(ft->relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", ft->qualified),
				 errhint("%s", tool->name_hint)));
	for (int i = 0; i < tool->ncolumns; i++)
		if (get_attnum(ft->relid, tool->columns[i]) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("relation \"%s\" has no column \"%s\"", ft->qualified, tool->columns[i]),
					 errdetail("%s", tool->columns_detail),
					 errhint("%s", tool->name_hint)));
}

/*
 * Reads the other tool's table as the caller (select_list and the rest of
 * the query around the table's quoted name); the rows are in SPI_tuptable.
 */
static void
foreign_table_read(const ForeignTable *ft, const char *select_list, const char *rest)
{
	int			ret = SPI_execute(psprintf("SELECT %s FROM %s %s", select_list, ft->qualified, rest),
								  false, 0);

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

/* Refuses to adopt into a database that has revisions applied already. */
static void
refuse_if_applied(Graph *g, const char *function_name)
{
	int			ncurrent;
	int		   *current;

	if (g->napplied == 0)
		return;
	current = graph_current_heads(g, &ncurrent);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s needs a database with no revision applied", function_name),
			 errdetail_plural("%d revision is applied already (current heads: %s).",
							  "%d revisions are applied already (current heads: %s).",
							  g->napplied, g->napplied, graph_id_list(g, current, ncurrent, 10)),
			 errhint("Adoption takes over from another tool once, before migrate has applied anything; use migrate.stamp() to change the applied set afterwards.")));
}

/*
 * Starts an adoption: the deploy lock, the other tool's table, the history
 * context (first rows of operation) and the graph, with nothing applied.
 */
static Graph *
adopt_begin(const char *given, const ToolTable *tool, const char *operation,
			ForeignTable *ft, AuditContext *ac)
{
	Graph	   *g;

	operation_begin(tool->function_name, 0);
	foreign_table_open(ft, given, tool);
	audit_begin(ac, operation, given, 0);
	g = graph_load(false);
	refuse_if_applied(g, tool->function_name);
	return g;
}

/* Refuses the ids that the other tool's table names and no revision has. */
static void
refuse_unknown(char **unknown, int nunknown, const ForeignTable *ft, const char *hint)
{
	if (nunknown == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg_plural("%s names %d revision that is not registered",
						   "%s names %d revisions that are not registered",
						   nunknown, ft->qualified, nunknown),
			 errdetail("Not registered: %s.", quoted_names(unknown, nunknown, nunknown, nunknown)),
			 errhint("%s", hint)));
}

/*
 * Marks the members applied, parents first, each with an "adopt" history
 * row whose detail is details[rev]; returns their indexes in that order.
 */
static int *
adopt_members(Graph *g, const bool *members, char **details, AuditContext *ac,
			  const char *empty_detail, int *n)
{
	int		   *order = graph_order(g, members, n);

	if (*n == 0)
		ereport(NOTICE,
				(errmsg("nothing to adopt"),
				 errdetail("%s", empty_detail)));
	ac->operation = "adopt";
	for (int i = 0; i < *n; i++)
	{
		Revision   *r = &g->revs[order[i]];
		TimestampTz now = GetCurrentTimestamp();

		/* applied_at and applied_by are the history row's: verify() compares them */
		catalog_set_applied(r->id, r->checksum, now, ac->effective_role);
		r->applied = true;
		audit_record(ac, r->id, true, NULL, NULL, now, 0, r->checksum, details[order[i]]);
	}
	return order;
}

/* The ids of revisions, as a text[] allocated in cxt. */
static ArrayType *
ids_array(Graph *g, const int *revs, int n, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	char	  **ids = palloc(sizeof(char *) * Max(n, 1));
	ArrayType  *result;

	for (int i = 0; i < n; i++)
		ids[i] = pstrdup(g->revs[revs[i]].id);
	result = strings_to_array(ids, n);
	MemoryContextSwitchTo(old);
	return result;
}

/* ------------------------------------------------------------------------
 * Alembic
 * ------------------------------------------------------------------------
 */

/*
 * The version_num values of Alembic's version table, read as the caller,
 * sorted in byte order and without duplicates.
 */
static char **
read_alembic_heads(const ForeignTable *ft, int *n)
{
	char	  **heads;

	foreign_table_read(ft, "version_num::pg_catalog.text",
					   "ORDER BY version_num::pg_catalog.text COLLATE pg_catalog.\"C\"");
	heads = palloc(sizeof(char *) * Max(SPI_processed, 1));
	*n = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s has a null version_num", ft->qualified),
					 errdetail("Alembic writes one revision id per row.")));
		if (*n == 0 || strcmp(heads[*n - 1], v) != 0)
			heads[(*n)++] = v;
	}
	SPI_freetuptable(SPI_tuptable);
	return heads;
}

/*
 * Refuses heads of which one is an ancestor of another through parents:
 * Alembic keeps only the heads of what it applied, so the registered
 * parents are not those of Alembic's files.
 */
static void
refuse_listed_ancestor(Graph *g, const int *heads, int n, const ForeignTable *ft)
{
	bool	   *ancestors = graph_new_marks(g);

	graph_mark_strict_ancestors(g, heads, n, ancestors, false);
	for (int i = 0; i < n; i++)
	{
		if (!ancestors[heads[i]])
			continue;
		for (int j = 0; j < n; j++)
		{
			bool	   *of_j;

			if (j == i)
				continue;
			of_j = graph_new_marks(g);
			graph_mark_strict_ancestors(g, &heads[j], 1, of_j, false);
			if (of_j[heads[i]])
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("%s lists revision \"%s\" and its ancestor \"%s\"",
								ft->qualified, g->revs[heads[j]].id, g->revs[heads[i]].id),
						 errdetail("Alembic lists only the heads of what it applied, never one of their ancestors."),
						 errhint("Register the revisions with the parents that their Alembic files give (down_revision).")));
		}
	}
}

/*
 * The revisions that Alembic's heads need (their closure through parents
 * and depends_on); every head must be a registered revision id.
 */
static bool *
alembic_members(Graph *g, char **ids, int n, const ForeignTable *ft)
{
	int		   *heads = palloc(sizeof(int) * Max(n, 1));
	char	  **unknown = palloc(sizeof(char *) * Max(n, 1));
	int			nunknown = 0;
	bool	   *members;

	for (int i = 0; i < n; i++)
	{
		heads[i] = graph_find_id(g, ids[i]);
		if (heads[i] < 0)
			unknown[nunknown++] = ids[i];
	}
	refuse_unknown(unknown, nunknown, ft,
				   "Register Alembic's migrations as revisions with the same ids (migrate.add_script() or migrate.add_dir()), then adopt again.");
	refuse_listed_ancestor(g, heads, n, ft);

	members = graph_new_marks(g);
	for (int i = 0; i < n; i++)
		graph_mark_ancestors(g, heads[i], members, true);
	return members;
}

/* The detail of every "adopt" row of adopt_alembic(): the version table. */
static char **
alembic_details(Graph *g, const ForeignTable *ft)
{
	char	  **details = palloc(sizeof(char *) * Max(g->nrevs, 1));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"from\": \"alembic\", \"version_table\": ");
	escape_json(&buf, ft->qualified);
	appendStringInfoChar(&buf, '}');
	for (int i = 0; i < g->nrevs; i++)
		details[i] = buf.data;
	return details;
}

PG_FUNCTION_INFO_V1(migrate_adopt_alembic);

/*
 * migrate.adopt_alembic(version_table): stamps the registered revisions to
 * the heads Alembic's version table lists; returns the new current heads.
 */
Datum
migrate_adopt_alembic(PG_FUNCTION_ARGS)
{
	char	   *given = required_text_arg(fcinfo, 0, "version_table");
	MemoryContext fn_cxt = CurrentMemoryContext;
	ForeignTable ft;
	AuditContext ac;
	Graph	   *g = adopt_begin(given, &alembic_table, "adopt", &ft, &ac);
	char	  **heads;
	int			nheads;
	int			nadopted;
	int		   *current;
	int			ncurrent;
	ArrayType  *result;

	heads = read_alembic_heads(&ft, &nheads);
	(void) adopt_members(g, alembic_members(g, heads, nheads, &ft), alembic_details(g, &ft), &ac,
						 psprintf("%s lists no revision: Alembic has applied nothing.", ft.qualified),
						 &nadopted);

	current = graph_current_heads(g, &ncurrent);
	result = ids_array(g, current, ncurrent, fn_cxt);
	operation_end(0);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* ------------------------------------------------------------------------
 * Flyway
 * ------------------------------------------------------------------------
 */

/* One row of Flyway's schema history. */
typedef struct FlywayRow
{
	int64		rank;			/* installed_rank */
	char	   *version;		/* NULL for a repeatable migration */
	char	   *description;
	char	   *type;
	char	   *script;
	char	   *checksum;		/* Flyway's integer checksum as text, or NULL */
	char	   *installed_by;
	TimestampTz installed_on;
	int64		execution_ms;
	bool		success;
	char	   *id;				/* the revision id its script maps to */
	bool		applied;		/* a versioned migration Flyway counts as applied */
} FlywayRow;

/*
 * The revision id of a Flyway migration (README, "Moving from Alembic,
 * Flyway, ..."): its script's file name without the directory and the
 * ".sql" suffix, or a Java migration's class name without its package.
 */
static char *
flyway_id(const char *type, const char *script)
{
	bool		java = strstr(type, "JDBC") != NULL;
	const char *base = strrchr(script, java ? '.' : '/');
	size_t		len;

	base = base != NULL ? base + 1 : script;
	len = strlen(base);
	if (!java && len > 4 && strcmp(base + len - 4, ".sql") == 0)
		len -= 4;
	return pnstrdup(base, len);
}

/* Refuses a null in a column of Flyway's that is never null. */
static void
refuse_null(const ForeignTable *ft, int col)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s has a null %s", ft->qualified, flyway_columns[col - 1]),
			 errdetail("Flyway never leaves that column null.")));
}

/* A text column of the current Flyway row, or NULL; 22004 if required. */
static char *
flyway_text(HeapTuple tup, TupleDesc desc, int col, bool required, const ForeignTable *ft)
{
	char	   *value = SPI_getvalue(tup, desc, col);

	if (value == NULL && required)
		refuse_null(ft, col);
	return value;
}

/* A column of the current Flyway row that is never null (22004 if it is). */
static Datum
flyway_datum(HeapTuple tup, TupleDesc desc, int col, const ForeignTable *ft)
{
	bool		isnull;
	Datum		value = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		refuse_null(ft, col);
	return value;
}

/* The rows of Flyway's schema history in installed_rank order, read as the caller. */
static FlywayRow *
read_flyway_rows(const ForeignTable *ft, int *n)
{
	FlywayRow  *rows;

	foreign_table_read(ft,
					   "installed_rank::pg_catalog.int8, version::pg_catalog.text,"
					   " description::pg_catalog.text, type::pg_catalog.text, script::pg_catalog.text,"
					   " checksum::pg_catalog.int8, installed_by::pg_catalog.text,"
					   " installed_on::pg_catalog.timestamptz,"
					   " COALESCE(execution_time::pg_catalog.int8, 0),"
					   " success::pg_catalog.bool",
					   "ORDER BY 1");
	*n = (int) SPI_processed;
	rows = palloc0(sizeof(FlywayRow) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		FlywayRow  *row = &rows[i];

		row->rank = DatumGetInt64(flyway_datum(tup, desc, 1, ft));
		row->version = flyway_text(tup, desc, 2, false, ft);
		row->description = flyway_text(tup, desc, 3, true, ft);
		row->type = flyway_text(tup, desc, 4, true, ft);
		row->script = flyway_text(tup, desc, 5, true, ft);
		row->checksum = flyway_text(tup, desc, 6, false, ft);
		row->installed_by = flyway_text(tup, desc, 7, true, ft);
		row->installed_on = DatumGetTimestampTz(flyway_datum(tup, desc, 8, ft));
		row->execution_ms = DatumGetInt64(flyway_datum(tup, desc, 9, ft));
		row->success = DatumGetBool(flyway_datum(tup, desc, 10, ft));
		row->id = flyway_id(row->type, row->script);
	}
	SPI_freetuptable(SPI_tuptable);
	return rows;
}

/* Refuses a history with a failed migration, as Flyway itself does. */
static void
refuse_failed(const FlywayRow *rows, int n, const ForeignTable *ft)
{
	for (int i = 0; i < n; i++)
		if (!rows[i].success)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s records a failed migration", ft->qualified),
					 errdetail("The row with installed_rank %lld (version %s, script \"%s\") has success false.",
							   (long long) rows[i].rank,
							   rows[i].version ? rows[i].version : "null", rows[i].script),
					 errhint("Undo what the failed migration left behind and run \"flyway repair\", which deletes the row, then adopt again.")));
}

/*
 * The next part of a Flyway version at *p, without leading zeros ("0" for
 * a missing part); moves *p past it and its separator.
 */
static void
version_part(const char **p, const char **start, size_t *len)
{
	const char *s = *p;
	size_t		n = strcspn(s, "._");
	const char *end = s + n;

	while (n > 1 && *s == '0')
	{
		s++;
		n--;
	}
	*start = n > 0 ? s : "0";
	*len = n > 0 ? n : 1;
	*p = *end != '\0' ? end + 1 : end;
}

/*
 * Compares two Flyway versions as Flyway does: "_" is ".", parts compare as
 * numbers, a missing part is 0 (1.0 = 1, 1.10 > 1.9).
 */
static int
flyway_version_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0')
	{
		const char *pa,
				   *pb;
		size_t		la,
					lb;
		int			c;

		version_part(&a, &pa, &la);
		version_part(&b, &pb, &lb);
		if (la != lb)
			return la < lb ? -1 : 1;
		c = memcmp(pa, pb, la);
		if (c != 0)
			return c;
	}
	return 0;
}

/*
 * Replays Flyway's history: a successful versioned row applies its version,
 * a later UNDO_* or DELETE row of the same version takes it back (a DELETE
 * row takes the id of the migration it deletes).  Returns the last BASELINE
 * row, or -1.
 */
static int
flyway_replay(FlywayRow *rows, int n)
{
	int			baseline = -1;

	for (int i = 0; i < n; i++)
	{
		const char *type = rows[i].type;

		if (rows[i].version == NULL || strcmp(type, "SCHEMA") == 0)
			continue;
		if (strcmp(type, "BASELINE") == 0)
			baseline = i;
		else if (strcmp(type, "DELETE") == 0 || strncmp(type, "UNDO_", 5) == 0)
		{
			for (int j = 0; j < i; j++)
			{
				if (!rows[j].applied || flyway_version_cmp(rows[j].version, rows[i].version) != 0)
					continue;
				rows[j].applied = false;
				if (strcmp(type, "DELETE") == 0)
					rows[i].id = rows[j].id;
			}
		}
		else
			rows[i].applied = true;
	}
	return baseline;
}

/*
 * The version of a revision id named like a Flyway versioned migration
 * ("V1_2__add_users": "1_2"), or NULL.
 */
static char *
versioned_name_version(const char *id)
{
	const char *sep;

	if (id[0] != 'V')
		return NULL;
	sep = strstr(id + 1, "__");
	if (sep == NULL || sep == id + 1)
		return NULL;
	for (const char *p = id + 1; p < sep; p++)
		if (!isdigit((unsigned char) *p) && *p != '.' && *p != '_')
			return NULL;
	return pnstrdup(id + 1, sep - id - 1);
}

/*
 * The registered revisions that Flyway counts as applied, with in ranks[]
 * the installed_rank of the row that applied each: those of its applied
 * versioned rows, each of which must map to a registered revision, and
 * below a baseline, those named V<version>__... at or below its version.
 */
static bool *
flyway_members(Graph *g, FlywayRow *rows, int n, int64 **ranks, const ForeignTable *ft)
{
	bool	   *members = graph_new_marks(g);
	char	  **unknown = palloc(sizeof(char *) * Max(n, 1));
	int			nunknown = 0;
	int			baseline = flyway_replay(rows, n);

	*ranks = palloc0(sizeof(int64) * Max(g->nrevs, 1));
	for (int i = 0; i < n; i++)
	{
		int			rev;

		if (!rows[i].applied)
			continue;
		rev = graph_find_id(g, rows[i].id);
		if (rev < 0)
			unknown[nunknown++] = rows[i].id;
		else
		{
			members[rev] = true;
			(*ranks)[rev] = rows[i].rank;
		}
	}
	refuse_unknown(unknown, nunknown, ft,
				   "Register a revision for each migration Flyway applied, named after its script (V1_2__add_users.sql is revision V1_2__add_users), then adopt again.");

	for (int i = 0; i < g->nrevs && baseline >= 0; i++)
	{
		char	   *version = versioned_name_version(g->revs[i].id);

		if (members[i] || version == NULL ||
			flyway_version_cmp(version, rows[baseline].version) > 0)
			continue;
		members[i] = true;
		(*ranks)[i] = rows[baseline].rank;
	}
	return members;
}

/*
 * Refuses members whose parent or dependency is not a member: the applied
 * set must stay closed under ancestry.
 */
static void
refuse_unclosed(Graph *g, const bool *members, const ForeignTable *ft)
{
	for (int i = 0; i < g->nrevs; i++)
	{
		Revision   *r = &g->revs[i];
		int			missing = -1;

		if (!members[i])
			continue;
		for (int j = 0; j < r->nparents && missing < 0; j++)
			if (!members[r->parents[j]])
				missing = r->parents[j];
		for (int j = 0; j < r->ndepends && missing < 0; j++)
			if (!members[r->depends[j]])
				missing = r->depends[j];
		if (missing >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s applies revision \"%s\" but not \"%s\", which it needs",
							ft->qualified, r->id, g->revs[missing].id),
					 errdetail("Revision \"%s\" has \"%s\" as a parent or dependency, and migrate applies a revision only after those.",
							   r->id, g->revs[missing].id),
					 errhint("Register the revisions with parents in the order in which Flyway applied them.")));
	}
}

/* A JSON string, or null. */
static void
json_text_or_null(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}

/* The detail of an import row: Flyway's own columns of that row. */
static char *
flyway_import_detail(const FlywayRow *row)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"from\": \"flyway\", \"installed_rank\": %lld, \"version\": ",
					 (long long) row->rank);
	json_text_or_null(&buf, row->version);
	appendStringInfoString(&buf, ", \"description\": ");
	escape_json(&buf, row->description);
	appendStringInfoString(&buf, ", \"type\": ");
	escape_json(&buf, row->type);
	appendStringInfoString(&buf, ", \"script\": ");
	escape_json(&buf, row->script);
	appendStringInfo(&buf, ", \"checksum\": %s, \"installed_by\": ",
					 row->checksum != NULL ? row->checksum : "null");
	escape_json(&buf, row->installed_by);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Copies every Flyway row into migrate.history as an "import" row, in
 * installed_rank order: Flyway's success, installed_on, execution_time and
 * installed_by (as both roles, when it fits in a name; else the caller's),
 * with the revision's checksum when it is registered.
 */
static void
import_flyway_rows(Graph *g, const FlywayRow *rows, int n, AuditContext *ac)
{
	char	   *session_role = ac->session_role;
	char	   *effective_role = ac->effective_role;

	ac->operation = "import";
	for (int i = 0; i < n; i++)
	{
		const FlywayRow *row = &rows[i];
		int			rev = graph_find_id(g, row->id);
		bool		fits = strlen(row->installed_by) < NAMEDATALEN;

		ac->session_role = fits ? row->installed_by : session_role;
		ac->effective_role = fits ? row->installed_by : effective_role;
		audit_record(ac, row->id, row->success, NULL, NULL, row->installed_on,
					 row->execution_ms * 1000, rev >= 0 ? g->revs[rev].checksum : NULL,
					 flyway_import_detail(row));
	}
	ac->session_role = session_role;
	ac->effective_role = effective_role;
}

/* The detail of each member's "adopt" row: the table and the row that applied it. */
static char **
flyway_adopt_details(Graph *g, const bool *members, const int64 *ranks, const ForeignTable *ft)
{
	char	  **details = palloc0(sizeof(char *) * Max(g->nrevs, 1));

	for (int i = 0; i < g->nrevs; i++)
	{
		StringInfoData buf;

		if (!members[i])
			continue;
		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"from\": \"flyway\", \"history_table\": ");
		escape_json(&buf, ft->qualified);
		appendStringInfo(&buf, ", \"installed_rank\": %lld}", (long long) ranks[i]);
		details[i] = buf.data;
	}
	return details;
}

PG_FUNCTION_INFO_V1(migrate_adopt_flyway);

/*
 * migrate.adopt_flyway(history_table): imports Flyway's history and marks
 * applied the registered revisions it applied; returns those, in the order
 * marked.
 */
Datum
migrate_adopt_flyway(PG_FUNCTION_ARGS)
{
	char	   *given = required_text_arg(fcinfo, 0, "history_table");
	MemoryContext fn_cxt = CurrentMemoryContext;
	ForeignTable ft;
	AuditContext ac;
	Graph	   *g = adopt_begin(given, &flyway_table, "import", &ft, &ac);
	FlywayRow  *rows;
	int			nrows;
	int64	   *ranks;
	bool	   *members;
	int		   *order;
	int			norder;
	ArrayType  *result;

	rows = read_flyway_rows(&ft, &nrows);
	refuse_failed(rows, nrows, &ft);
	members = flyway_members(g, rows, nrows, &ranks, &ft);
	refuse_unclosed(g, members, &ft);

	import_flyway_rows(g, rows, nrows, &ac);
	order = adopt_members(g, members, flyway_adopt_details(g, members, ranks, &ft), &ac,
						  psprintf("%s records no applied versioned migration.", ft.qualified),
						  &norder);

	result = ids_array(g, order, norder, fn_cxt);
	operation_end(0);
	PG_RETURN_ARRAYTYPE_P(result);
}
