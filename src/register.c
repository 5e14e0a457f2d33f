/*
 * register.c
 *		migrate.add, migrate.remove and migrate.merge: changes to the graph.
 *
 * add never loads the whole graph: every check is an index lookup (ids by
 * primary key, parents, depends_on and labels by GIN), and the graph heads
 * are kept in migrate.revision_head, so registering N revisions is O(N log N)
 * however they are added.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#define GENERATED_ID_BYTES 6	/* 12 hex digits */

/* The stored state of a revision that is being registered again. */
typedef struct ExistingRevision
{
	bool		found;
	char	  **parents;
	int			nparents;
	char	  **labels;
	int			nlabels;
	char	   *message;
	char	   *checksum;
	bool		applied;
	char	  **lint_ignore;	/* "rule: reason" entries (1.1), NULL with 0 */
	int			nlint_ignore;
	/* read by load_existing_sql(), for an applied revision's amendment or repair */
	char	   *up;
	char	   *down;
	char	  **depends;
	int			ndepends;
	char	   *created_by;
	bool		transactional;
} ExistingRevision;

/* A random 12-hex-digit revision id, for add(id => NULL). */
static char *
generate_id(void)
{
	uint8		raw[GENERATED_ID_BYTES];
	char	   *id = palloc(GENERATED_ID_BYTES * 2 + 1);

	if (!pg_strong_random(raw, sizeof(raw)))
		elog(ERROR, "could not generate a random revision id");
	hex_encode((const char *) raw, sizeof(raw), id);
	id[GENERATED_ID_BYTES * 2] = '\0';
	return id;
}

/* Whether two string lists are equal, element by element. */
static bool
strings_equal(char **a, int na, char **b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/* Whether a string list holds s. */
static bool
strings_contain(char **a, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(a[i], s) == 0)
			return true;
	return false;
}

/*
 * The stored parents, labels, message and checksum of a revision, and
 * whether it is applied: two index probes, with the fresh snapshot a caller
 * holding the deploy lock needs.
 */
static ExistingRevision
load_existing(const char *id)
{
	static const char *const cols[5] = {"parents", "branch_labels", "message", "checksum",
	"lint_ignore"};
	ExistingRevision ex = {0};
	Datum		values[5];
	bool		nulls[5];

	if (!catalog_read_revision(id, true, catalog_has_transactional() ? 5 : 4, cols, values,
							   nulls, &ex.applied))
		return ex;
	if (catalog_has_transactional() && !nulls[4])
		ex.lint_ignore = array_to_strings(DatumGetArrayTypeP(values[4]), "lint_ignore",
										  &ex.nlint_ignore);
	ex.found = true;
	ex.parents = array_to_strings(DatumGetArrayTypeP(values[0]), "parents", &ex.nparents);
	ex.labels = array_to_strings(DatumGetArrayTypeP(values[1]), "branch_labels", &ex.nlabels);
	ex.message = TextDatumGetCString(values[2]);
	ex.checksum = TextDatumGetCString(values[3]);
	return ex;
}

/* Reads the rest of an existing revision: its SQL, depends_on, registrant and mark. */
static void
load_existing_sql(const char *id, ExistingRevision *ex)
{
	static const char *const cols[5] = {"up_sql", "down_sql", "depends_on", "created_by",
	"transactional"};
	Datum		values[5];
	bool		nulls[5];
	bool		applied;

	if (!catalog_read_revision(id, true, catalog_has_transactional() ? 5 : 4, cols, values,
							   nulls, &applied))
		elog(ERROR, "revision \"%s\" vanished", id);
	ex->up = TextDatumGetCString(values[0]);
	ex->down = nulls[1] ? NULL : TextDatumGetCString(values[1]);
	ex->depends = array_to_strings(DatumGetArrayTypeP(values[2]), "depends_on", &ex->ndepends);
	ex->created_by = pstrdup(NameStr(*DatumGetName(values[3])));
	ex->transactional = catalog_has_transactional() ? DatumGetBool(values[4]) : true;
}

/* The parents of a new revision registered without parents: the single head. */
static char **
default_parents(const char *id, int *n)
{
	char	  **heads;
	int			total = 0;
	bool		isnull;

	catalog_exec("SELECT h.revision, pg_catalog.count(*) OVER ()"
				 " FROM migrate.revision_head h ORDER BY h.revision COLLATE \"C\" LIMIT 10",
				 0, NULL, NULL, NULL, false, 0);
	*n = (int) SPI_processed;
	heads = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		heads[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	if (*n > 0)
		total = (int) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_freetuptable(SPI_tuptable);

	if (total > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("cannot choose the parent of revision \"%s\": the revision graph has several heads", id),
				 errdetail("The heads are %s.", quoted_names(heads, *n, total, 10)),
				 errhint("Pass parents => ARRAY[...], or merge the heads first with migrate.merge().")));
	return heads;
}

/*
 * Replaces each depends_on name that is no revision's id but a branch label
 * by the labelled revision's id, as Alembic reads depends_on: the stored
 * graph names revisions only.
 */
static void
resolve_depends_labels(char **depends, int n)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];

	if (n == 0)
		return;
	values[0] = PointerGetDatum(strings_to_array(depends, n));
	catalog_exec("SELECT x.n, r.id FROM pg_catalog.unnest($1) WITH ORDINALITY AS x(name, n)"
				 " JOIN migrate.revision r ON r.branch_labels @> ARRAY[x.name]"
				 " WHERE NOT EXISTS (SELECT 1 FROM migrate.revision i WHERE i.id = x.name)",
				 1, argtypes, values, NULL, false, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		k = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		depends[k - 1] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Refuses references (parents, or with depends depends_on) to revisions that do not exist. */
static void
check_references_exist(const char *id, char **refs, int n, bool depends)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];

	if (n == 0)
		return;
	values[0] = PointerGetDatum(strings_to_array(refs, n));
	catalog_exec("SELECT x FROM pg_catalog.unnest($1) AS x"
				 " WHERE NOT EXISTS (SELECT 1 FROM migrate.revision r WHERE r.id = x) LIMIT 1",
				 1, argtypes, values, NULL, false, 1);
	if (SPI_processed > 0)
	{
		char	   *missing = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 depends ?
				 errmsg("dependency \"%s\" of revision \"%s\" does not exist", missing, id) :
				 errmsg("parent \"%s\" of revision \"%s\" does not exist", missing, id),
				 errhint("Add revision \"%s\" first.", missing)));
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Labels are unique across the graph and share one namespace with ids. */
static void
check_names_unique(const char *id, char **labels, int nlabels)
{
	Oid			argtypes[2] = {TEXTOID, TEXTARRAYOID};
	Datum		values[2];

	values[0] = CStringGetTextDatum(id);
	values[1] = PointerGetDatum(strings_to_array(labels, nlabels));

	/* no LIMIT in these lookups: it would tempt the planner into a seq scan */
	catalog_exec("SELECT r.id FROM migrate.revision r"
				 " WHERE r.branch_labels @> ARRAY[$1] AND r.id <> $1",
				 2, argtypes, values, NULL, false, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("revision id \"%s\" is already a branch label of revision \"%s\"",
						id, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1))));
	SPI_freetuptable(SPI_tuptable);

	if (nlabels == 0)
		return;

	catalog_exec("SELECT l, r.id FROM migrate.revision r, pg_catalog.unnest(r.branch_labels) AS l"
				 " WHERE r.branch_labels && $2 AND r.id <> $1 AND l = ANY ($2)",
				 2, argtypes, values, NULL, false, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("branch label \"%s\" is already used by revision \"%s\"",
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
				 errhint("Branch labels are unique across the graph.")));
	SPI_freetuptable(SPI_tuptable);

	catalog_exec("SELECT r.id FROM migrate.revision r WHERE r.id = ANY ($2)",
				 2, argtypes, values, NULL, false, 1);
	if (SPI_processed > 0 || strings_contain(labels, nlabels, id))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("branch label \"%s\" is already a revision id",
						SPI_processed > 0 ?
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : id),
				 errhint("Labels and ids share one namespace, so that a target names one revision.")));
	SPI_freetuptable(SPI_tuptable);
}

/* A replaced revision must not become its own ancestor. */
static void
check_no_cycle(const char *id, char **parents, int nparents, char **depends, int ndepends)
{
	Oid			argtypes[2] = {TEXTOID, TEXTARRAYOID};
	Datum		values[2];
	char	  **refs = palloc(sizeof(char *) * Max(nparents + ndepends, 1));

	memcpy(refs, parents, sizeof(char *) * nparents);
	memcpy(refs + nparents, depends, sizeof(char *) * ndepends);
	if (nparents + ndepends == 0)
		return;

	values[0] = CStringGetTextDatum(id);
	values[1] = PointerGetDatum(strings_to_array(refs, nparents + ndepends));
	catalog_exec("WITH RECURSIVE ancestor(id) AS ("
				 "  SELECT pg_catalog.unnest($2)"
				 "  UNION"
				 "  SELECT pg_catalog.unnest(r.parents OPERATOR(pg_catalog.||) r.depends_on)"
				 "  FROM migrate.revision r JOIN ancestor a ON r.id = a.id)"
				 " SELECT 1 FROM ancestor WHERE id = $1 LIMIT 1",
				 2, argtypes, values, NULL, false, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("revision \"%s\" would create a cycle", id),
				 errdetail("Its new parents or depends_on descend from revision \"%s\" itself.", id)));
	SPI_freetuptable(SPI_tuptable);
}

/* Keeps migrate.revision_head equal to the revisions that are nobody's parent. */
static void
update_heads(const char *id, bool is_new, char **old_parents, int nold, char **parents, int nparents)
{
	Oid			argtypes[2] = {TEXTOID, TEXTARRAYOID};
	Datum		values[2];

	values[0] = CStringGetTextDatum(id);
	values[1] = PointerGetDatum(strings_to_array(parents, nparents));
	if (is_new)
		catalog_exec("INSERT INTO migrate.revision_head (revision) VALUES ($1)",
					 2, argtypes, values, NULL, false, 0);
	if (nparents > 0)
		catalog_exec("DELETE FROM migrate.revision_head WHERE revision = ANY ($2)",
					 2, argtypes, values, NULL, false, 0);
	if (nold > 0)
	{
		values[1] = PointerGetDatum(strings_to_array(old_parents, nold));
		catalog_exec("INSERT INTO migrate.revision_head (revision)"
					 " SELECT p FROM pg_catalog.unnest($2) AS p"
					 " WHERE NOT EXISTS (SELECT 1 FROM migrate.revision c WHERE c.parents @> ARRAY[p])"
					 "   AND EXISTS (SELECT 1 FROM migrate.revision r WHERE r.id = p)"
					 " ON CONFLICT DO NOTHING",
					 2, argtypes, values, NULL, false, 0);
	}
}

/* A revision as add() was asked to register it, checked piece by piece. */
typedef struct NewRevision
{
	char	   *id;				/* NULL: to be generated */
	const char *up;
	const char *down;
	const char *message;
	char	  **parents;		/* NULL with nparents 0: not given */
	int			nparents;
	bool		parents_given;
	char	  **depends;
	int			ndepends;
	char	  **labels;
	int			nlabels;
	int			transactional_mark;	/* -1: not given; else the given boolean */
	char	  **lint_ignore;	/* "rule: reason" entries, NULL with 0 */
	int			nlint_ignore;
	int			up_line_base;	/* from a file: its lines before each section's SQL; else -1 */
	int			down_line_base;
	bool		transactional;	/* as registered: the mark, or decided from the SQL */
	char	   *checksum;
} NewRevision;

/*
 * The revision writes, on the catalogs of 1.0 (first) and 1.1 (second, with
 * the columns transactional and lint_ignore).  Each returns the history
 * detail of the write, as the row stored it: message, branch_labels,
 * created_by and (1.1, when set) lint_ignore.  Static texts: catalog_exec()
 * keeps a plan per text.
 */
#define DETAIL_OBJECT \
	"pg_catalog.jsonb_build_object('message', message," \
	" 'branch_labels', pg_catalog.to_jsonb(branch_labels), 'created_by', created_by)"
#define DETAIL_RETURNING_10 " RETURNING " DETAIL_OBJECT "::pg_catalog.text"
#define DETAIL_RETURNING_11 " RETURNING (" DETAIL_OBJECT " OPERATOR(pg_catalog.||)" \
	" CASE WHEN lint_ignore IS NULL THEN '{}'::pg_catalog.jsonb" \
	" ELSE pg_catalog.jsonb_build_object('lint_ignore', lint_ignore) END)::pg_catalog.text"
#define REVISION_INSERT(cols, vals) \
	"INSERT INTO migrate.revision (id, parents, depends_on, branch_labels, message, up_sql," \
	" down_sql, checksum, created_at, created_by" cols ")" \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, pg_catalog.now(), $9" vals ")"
#define REVISION_EDIT(sets) \
	"UPDATE migrate.revision SET branch_labels = $4, message = $5" sets " WHERE id = $1"
#define REVISION_REPLACE(sets) \
	"UPDATE migrate.revision SET parents = $2, depends_on = $3, branch_labels = $4," \
	" message = $5, up_sql = $6, down_sql = $7, checksum = $8, created_at = pg_catalog.now()," \
	" created_by = $9" sets " WHERE id = $1"

/* [catalogs of 1.1][insert, edit, replace] */
static const char *const revision_writes[2][3] = {
	{REVISION_INSERT("", "") DETAIL_RETURNING_10,
		REVISION_EDIT("") DETAIL_RETURNING_10,
	REVISION_REPLACE("") DETAIL_RETURNING_10},
	{REVISION_INSERT(", transactional, lint_ignore", ", $10, $11") DETAIL_RETURNING_11,
		REVISION_EDIT(", lint_ignore = $11") DETAIL_RETURNING_11,
	REVISION_REPLACE(", transactional = $10, lint_ignore = $11") DETAIL_RETURNING_11}
};

/*
 * Inserts or updates a revision, in one statement with its 1.1 columns.  An
 * edit that keeps the SQL (same checksum, so the same transactional mark)
 * only changes message, labels and lint_ignore: created_by, which decides
 * for whom the SQL may run, stays the role that wrote the SQL; the history
 * row names the editor.  Returns the history detail of the write, as JSON
 * text.
 */
static char *
write_revision(bool is_new, bool same_sql, NewRevision *nr, const char *created_by)
{
	Oid			argtypes[11] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID, BOOLOID, TEXTARRAYOID};
	Datum		values[11];
	char		nulls[11] = "           ";
	bool		v11 = catalog_has_transactional();
	char	   *detail;

	values[0] = CStringGetTextDatum(nr->id);
	values[1] = PointerGetDatum(strings_to_array(nr->parents, nr->nparents));
	values[2] = PointerGetDatum(strings_to_array(nr->depends, nr->ndepends));
	values[3] = PointerGetDatum(strings_to_array(nr->labels, nr->nlabels));
	values[4] = CStringGetTextDatum(nr->message);
	values[5] = CStringGetTextDatum(nr->up);
	values[6] = nr->down ? CStringGetTextDatum(nr->down) : (nulls[6] = 'n', (Datum) 0);
	values[7] = CStringGetTextDatum(nr->checksum);
	values[8] = DirectFunctionCall1(namein, CStringGetDatum(created_by));
	values[9] = BoolGetDatum(nr->transactional);
	values[10] = nr->nlint_ignore > 0 ?
		PointerGetDatum(strings_to_array(nr->lint_ignore, nr->nlint_ignore)) :
		(nulls[10] = 'n', (Datum) 0);

	catalog_exec(revision_writes[v11][is_new ? 0 : same_sql ? 1 : 2], v11 ? 11 : 9,
				 argtypes, values, nulls, false, 0);
	detail = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
	return detail;
}

/* Refuses a message of more than one line. */
static void
check_message(const char *message)
{
	if (strpbrk(message, "\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("message must be a single line"),
				 errhint("Put longer explanations in SQL comments of the up SQL.")));
}

/* Reads and validates add()'s arguments into nr; no catalog access. */
static void
read_new_revision(NewRevision *nr, char *id, const char *up, const char *down,
				  ArrayType *parents_arr, const char *message,
				  ArrayType *depends_arr, ArrayType *labels_arr)
{
	memset(nr, 0, sizeof(NewRevision));
	if (up == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("up SQL must not be null"),
				 errhint("Use '' for a revision that runs no SQL.")));
	nr->message = message ? message : "";
	check_message(nr->message);
	if (id != NULL)
		validate_name(id, NAME_REVISION_ID);
	nr->id = id;
	if (depends_arr)
		nr->depends = list_names(depends_arr, "depends_on", &nr->ndepends);
	if (labels_arr)
		nr->labels = list_names(labels_arr, "branch_labels", &nr->nlabels);
	validate_name_list(nr->depends, nr->ndepends, NAME_REVISION_ID, "depends_on");
	validate_name_list(nr->labels, nr->nlabels, NAME_BRANCH_LABEL, "branch_labels");
	nr->parents_given = parents_arr != NULL;
	if (parents_arr)
	{
		nr->parents = list_names(parents_arr, "parents", &nr->nparents);
		/* '{base}' is a root, as a file's "-- migrate:parents base" */
		if (nr->nparents == 1 && strcmp(nr->parents[0], "base") == 0)
			nr->nparents = 0;
		validate_name_list(nr->parents, nr->nparents, NAME_REVISION_ID, "parents");
	}

	/* the stored form: LF line ends, none trailing (see normalize_line_ends) */
	nr->up = normalize_line_ends(up, true);
	nr->down = down ? normalize_line_ends(down, true) : NULL;
}

/*
 * Decides whether the revision is transactional: as marked, or else false
 * when a statement cannot run in a transaction block.  A non-transactional
 * revision runs each statement in a transaction of its own, some in a
 * background worker, so a SET would not reach the statements after it.
 */
static void
decide_transactional(NewRevision *nr, const char *name, SqlFacts *up, SqlFacts *down)
{
	SqlFacts   *top = up->top_level ? up : down->top_level ? down : NULL;
	SqlFacts   *set = up->setting ? up : down->setting ? down : NULL;

	nr->transactional = nr->transactional_mark >= 0 ? nr->transactional_mark : top == NULL;
	if (top != NULL && (nr->transactional || !catalog_has_transactional()))
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", top->top_level),
				 nr->transactional ?
				 errdetail("Revision \"%s\" is marked transactional => true.", name) :
				 errdetail("The migrate catalogs of this database are those of version 1.0, which runs every revision in a transaction."),
				 nr->transactional && top->top_level_hint ?
				 errhint("%s", top->top_level_hint) :
				 nr->transactional ?
				 errhint("Leave transactional unset: such a revision runs statement by statement through CALL migrate.deploy().") :
				 errhint("Run ALTER EXTENSION migrate UPDATE to register non-transactional revisions."),
				 errcontext_sql_line(top == up ? "up" : "down", name, top->top_level_line,
									 top == up ? nr->up_line_base : nr->down_line_base)));
	if (!nr->transactional && !catalog_has_transactional())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("revision \"%s\" cannot be marked transactional => false", name),
				 errdetail("The migrate catalogs of this database are those of version 1.0."),
				 errhint("Run ALTER EXTENSION migrate UPDATE first.")));
	if (!nr->transactional && set != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot run in a non-transactional revision", set->setting),
				 errdetail("Each statement of a non-transactional revision runs in a transaction of its own, some in a background worker: a setting would not reach the statements after it."),
				 errhint("Set it for the deploying role or database, or in the session before CALL migrate.deploy(): every statement runs with the caller's settings."),
				 errcontext_sql_line(set == up ? "up" : "down", name, set->setting_line,
									 set == up ? nr->up_line_base : nr->down_line_base)));
}

/* Checks the up and down SQL: marker lines, then the server's parser. */
static void
check_new_sql(NewRevision *nr)
{
	const char *name = nr->id ? nr->id : "(generated id)";
	SqlFacts	up = {0};
	SqlFacts	down = {0};

	check_no_marker_lines(name, "up", nr->up);
	if (nr->down != NULL)
		check_no_marker_lines(name, "down", nr->down);
	sqlcheck_validate(name, "up", nr->up, nr->up_line_base, &up);
	if (nr->down != NULL)
		sqlcheck_validate(name, "down", nr->down, nr->down_line_base, &down);
	decide_transactional(nr, name, &up, &down);
}

/*
 * Whether new content for an applied revision is an amendment: the same
 * parents, depends_on and mark, and the same statements token for token
 * (only comments, whitespace and line ends differ), so that nothing it would
 * run changes.
 */
static bool
is_amendment(NewRevision *nr, ExistingRevision *ex)
{
	load_existing_sql(nr->id, ex);
	return strings_equal(nr->parents, nr->nparents, ex->parents, ex->nparents) &&
		strings_equal(nr->depends, nr->ndepends, ex->depends, ex->ndepends) &&
		nr->transactional == ex->transactional &&
		(nr->down == NULL) == (ex->down == NULL) &&
		sqlscan_same_tokens(nr->up, ex->up) &&
		(nr->down == NULL || sqlscan_same_tokens(nr->down, ex->down));
}

/* What registering content for an existing revision does. */
typedef enum ChangeKind
{
	CHANGE_NONE,				/* registered before: nothing to do */
	CHANGE_WRITE,				/* replaced, or message and labels edited */
	CHANGE_AMEND				/* an applied revision amended */
} ChangeKind;

/* Classifies new content for an existing revision; refuses other SQL for an applied one. */
static ChangeKind
classify_change(NewRevision *nr, ExistingRevision *ex)
{
	bool		same_sql = strcmp(nr->checksum, ex->checksum) == 0;

	if (same_sql && strcmp(nr->message, ex->message) == 0 &&
		strings_equal(nr->labels, nr->nlabels, ex->labels, ex->nlabels) &&
		strings_equal(nr->lint_ignore, nr->nlint_ignore, ex->lint_ignore, ex->nlint_ignore))
		return CHANGE_NONE;
	if (same_sql || !ex->applied)
		return CHANGE_WRITE;
	if (is_amendment(nr, ex))
		return CHANGE_AMEND;
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg("revision \"%s\" is applied and cannot be replaced", nr->id),
			 errdetail("Its stored checksum is %s; the new content has checksum %s, and its statements differ.",
					   ex->checksum, nr->checksum),
			 errhint("Add a new revision for the change, or downgrade below \"%s\" first. "
					 "A change of comments and whitespace alone is accepted as an amendment; "
					 "migrate.repair() replaces an applied revision's SQL without running it.", nr->id)));
	return CHANGE_WRITE;
}

/* A history row's detail with the revision's checksums before and after. */
static char *
detail_with_checksums(const char *detail, const char *old_checksum, const char *new_checksum)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(detail), CStringGetTextDatum(old_checksum),
	CStringGetTextDatum(new_checksum)};
	char	   *result;

	catalog_exec("SELECT (pg_catalog.jsonb($1) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object("
				 "'old_checksum', $2, 'new_checksum', $3))::pg_catalog.text",
				 3, argtypes, values, NULL, true, 1);
	result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * Writes an applied revision's new text without running it (an amendment or
 * a repair): the revision, its mark, the checksum of its applied row, and a
 * history row with both checksums.
 */
static void
write_applied_change(NewRevision *nr, ExistingRevision *ex, const char *created_by,
					 AuditContext *ac, TimestampTz started_at)
{
	char	   *detail;

	detail = write_revision(false, false, nr, created_by);
	catalog_set_applied_checksum(nr->id, nr->checksum);
	audit_record(ac, nr->id, true, NULL, NULL, started_at, GetCurrentTimestamp() - started_at,
				 nr->checksum, detail_with_checksums(detail, ex->checksum, nr->checksum));
}

/* The graph's rules: no self-reference, references exist, names unique, no cycle. */
static void
check_graph_rules(NewRevision *nr, bool replacing)
{
	if (strings_contain(nr->parents, nr->nparents, nr->id) ||
		strings_contain(nr->depends, nr->ndepends, nr->id))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("revision \"%s\" cannot be its own parent or dependency", nr->id)));
	check_references_exist(nr->id, nr->parents, nr->nparents, false);
	check_references_exist(nr->id, nr->depends, nr->ndepends, true);
	check_names_unique(nr->id, nr->labels, nr->nlabels);
	if (replacing)
		check_no_cycle(nr->id, nr->parents, nr->nparents, nr->depends, nr->ndepends);
}

/*
 * Registers a revision: the shared path of add, merge and add_script.  The
 * caller holds the deploy lock and an SPI connection; ac is the operation's
 * audit context.  Returns the id (generated when id is NULL).
 */
char *
register_revision(char *id, const char *up, const char *down,
				  ArrayType *parents_arr, const char *message,
				  ArrayType *depends_arr, ArrayType *labels_arr,
				  int transactional_mark, const int *line_bases, ArrayType *lint_ignore,
				  AuditContext *ac)
{
	TimestampTz started_at = GetCurrentTimestamp();
	char	   *created_by = GetUserNameFromId(GetUserId(), false);
	NewRevision nr;
	ExistingRevision ex;
	ChangeKind	change;
	char	   *detail;

	read_new_revision(&nr, id, up, down, parents_arr, message, depends_arr, labels_arr);
	nr.transactional_mark = transactional_mark;
	nr.up_line_base = line_bases ? line_bases[0] : -1;
	nr.down_line_base = line_bases ? line_bases[1] : -1;
	if (lint_ignore != NULL)
		nr.lint_ignore = array_to_strings(lint_ignore, "lint_ignore", &nr.nlint_ignore);
	if (nr.id != NULL && strchr(nr.id, '-') != NULL && !catalog_has_transactional())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("revision id \"%s\" needs version 1.1 of the migrate catalogs", nr.id),
				 errdetail("The catalogs of version 1.0 accept letters, digits, \"_\" and \".\" in ids."),
				 errhint("Run ALTER EXTENSION migrate UPDATE first.")));
	/* parse first: the parser may take a while on a huge revision */
	check_new_sql(&nr);

	if (nr.id == NULL)
	{
		do
			nr.id = generate_id();
		while (load_existing(nr.id).found);
		memset(&ex, 0, sizeof(ex));
	}
	else
		ex = load_existing(nr.id);

	if (!nr.parents_given && ex.found)
	{
		nr.parents = ex.parents;
		nr.nparents = ex.nparents;
	}
	else if (!nr.parents_given)
		nr.parents = default_parents(nr.id, &nr.nparents);
	resolve_depends_labels(nr.depends, nr.ndepends);
	/* a label and the id it names are one revision, listed twice */
	validate_name_list(nr.depends, nr.ndepends, NAME_REVISION_ID, "depends_on");

	nr.checksum = revision_checksum(nr.id, nr.parents, nr.nparents, nr.depends, nr.ndepends,
									nr.up, nr.down, nr.transactional);
	change = ex.found ? classify_change(&nr, &ex) : CHANGE_WRITE;
	if (change == CHANGE_NONE)
		return nr.id;			/* registered before: nothing to do */
	if (change == CHANGE_AMEND)
	{
		/* the statements are the registrant's still: created_by stays */
		ac->operation = "amend";
		write_applied_change(&nr, &ex, ex.created_by, ac, started_at);
		return nr.id;
	}
	check_graph_rules(&nr, ex.found);
	lint_check_ignore(nr.id, nr.lint_ignore, nr.nlint_ignore);
	if (!ex.found || strcmp(nr.checksum, ex.checksum) != 0)
		lint_at_add(nr.id, nr.up, nr.up_line_base, nr.lint_ignore, nr.nlint_ignore);

	detail = write_revision(!ex.found, ex.found && strcmp(nr.checksum, ex.checksum) == 0, &nr,
							created_by);
	update_heads(nr.id, !ex.found, ex.parents, ex.nparents, nr.parents, nr.nparents);

	ac->operation = ex.found ? "replace" : "add";
	audit_record(ac, nr.id, true, NULL, NULL, started_at,
				 GetCurrentTimestamp() - started_at, nr.checksum, detail);
	return nr.id;
}

PG_FUNCTION_INFO_V1(migrate_add);

/* migrate.add(id, up, down, parents, message, depends_on, branch_labels, transactional, lint_ignore) */
Datum
migrate_add(PG_FUNCTION_ARGS)
{
	char	   *id = text_arg_or_null(fcinfo, 0);
	char	   *up = text_arg_or_null(fcinfo, 1);
	char	   *down = text_arg_or_null(fcinfo, 2);
	ArrayType  *parents = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3);
	char	   *message = text_arg_or_null(fcinfo, 4);
	ArrayType  *depends = PG_ARGISNULL(5) ? NULL : PG_GETARG_ARRAYTYPE_P(5);
	ArrayType  *labels = PG_ARGISNULL(6) ? NULL : PG_GETARG_ARRAYTYPE_P(6);
	/* 1.0's add() has no argument transactional */
	int			transactional = PG_NARGS() < 8 || PG_ARGISNULL(7) ? -1 : PG_GETARG_BOOL(7);
	ArrayType  *lint_ignore = PG_NARGS() < 9 || PG_ARGISNULL(8) ? NULL : PG_GETARG_ARRAYTYPE_P(8);
	MemoryContext fn_cxt = CurrentMemoryContext;
	AuditContext ac;
	char	   *result;

	operation_begin("migrate.add()", 0);

	audit_begin(&ac, "add", NULL, 0);
	result = register_revision(id, up, down, parents, message, depends, labels,
							   transactional, NULL, lint_ignore, &ac);
	result = MemoryContextStrdup(fn_cxt, result);

	operation_end(0);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/* Refuses a repair by a role without the privileges of the revision's registrant. */
static void
check_may_repair(const char *id, const char *registrant)
{
	Oid			registrant_oid = get_role_oid(registrant, true);

	if (!OidIsValid(registrant_oid) || !has_privs_of_role(GetUserId(), registrant_oid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" cannot repair revision \"%s\"",
						GetUserNameFromId(GetUserId(), false), id),
				 errdetail("It was added by role \"%s\"; replacing its SQL needs that role's privileges.",
						   registrant),
				 errhint("Have role \"%s\", or a role holding its privileges, repair it.", registrant)));
}

/*
 * Replaces an applied revision's up and down SQL without running them:
 * checked as add() checks them, its parents, depends_on, labels and message
 * kept; the caller becomes its registrant.  Returns the new checksum.
 */
static char *
repair_revision(const char *id, const char *up, const char *down, AuditContext *ac)
{
	TimestampTz started_at = GetCurrentTimestamp();
	ExistingRevision ex = load_existing(id);
	NewRevision nr;

	if (!ex.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", id),
				 errhint("Pass the full revision id to migrate.repair().")));
	if (!ex.applied)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" is not applied", id),
				 errhint("Replace an unapplied revision with migrate.add(): repair is for applied ones, whose SQL must not run again.")));
	load_existing_sql(id, &ex);
	check_may_repair(id, ex.created_by);

	read_new_revision(&nr, pstrdup(id), up, down, NULL, ex.message, NULL, NULL);
	nr.parents = ex.parents;
	nr.nparents = ex.nparents;
	nr.depends = ex.depends;
	nr.ndepends = ex.ndepends;
	nr.labels = ex.labels;
	nr.nlabels = ex.nlabels;
	nr.lint_ignore = ex.lint_ignore;
	nr.nlint_ignore = ex.nlint_ignore;
	/* a revision marked non-transactional stays so; else the SQL decides */
	nr.transactional_mark = ex.transactional ? -1 : 0;
	nr.up_line_base = nr.down_line_base = -1;
	check_new_sql(&nr);
	nr.checksum = revision_checksum(nr.id, nr.parents, nr.nparents, nr.depends, nr.ndepends,
									nr.up, nr.down, nr.transactional);
	if (strcmp(nr.checksum, ex.checksum) == 0)
		return nr.checksum;		/* the same already: nothing to do */
	write_applied_change(&nr, &ex, GetUserNameFromId(GetUserId(), false), ac, started_at);
	return nr.checksum;
}

PG_FUNCTION_INFO_V1(migrate_repair);

/* migrate.repair(revision, up, down): an applied revision's SQL replaced, not run. */
Datum
migrate_repair(PG_FUNCTION_ARGS)
{
	char	   *id = required_text_arg(fcinfo, 0, "revision");
	char	   *up = text_arg_or_null(fcinfo, 1);
	char	   *down = text_arg_or_null(fcinfo, 2);
	MemoryContext fn_cxt = CurrentMemoryContext;
	AuditContext ac;
	char	   *result;

	validate_name(id, NAME_REVISION);
	operation_begin("migrate.repair()", 0);
	audit_begin(&ac, "repair", NULL, 0);
	result = MemoryContextStrdup(fn_cxt, repair_revision(id, up, down, &ac));
	operation_end(0);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

PG_FUNCTION_INFO_V1(migrate_remove);

/* migrate.remove(id): deletes an unapplied revision nothing references. */
Datum
migrate_remove(PG_FUNCTION_ARGS)
{
	char	   *id = text_arg_or_null(fcinfo, 0);
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	AuditContext ac;
	TimestampTz started_at = GetCurrentTimestamp();
	ExistingRevision ex;
	char	   *checksum;
	char	  **old_parents;
	int			nold;

	if (id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("revision id must not be null")));
	validate_name(id, NAME_REVISION_ID);

	operation_begin("migrate.remove()", 0);
	audit_begin(&ac, "remove", NULL, 0);

	ex = load_existing(id);
	if (!ex.found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", id),
				 errhint("Pass the full revision id to migrate.remove().")));
	if (ex.applied)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" is applied and cannot be removed", id),
				 errhint("Downgrade below it first, or stamp the database without it.")));

	values[0] = CStringGetTextDatum(id);
	catalog_exec("SELECT c.id FROM (SELECT r.id FROM migrate.revision r WHERE r.parents @> ARRAY[$1]"
				 "  UNION ALL SELECT r.id FROM migrate.revision r WHERE r.depends_on @> ARRAY[$1]) c"
				 " ORDER BY c.id COLLATE \"C\" LIMIT 1",
				 1, argtypes, values, NULL, false, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" is referenced by revision \"%s\" and cannot be removed",
						id, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Remove the revisions that build on it first.")));
	SPI_freetuptable(SPI_tuptable);

	checksum = ex.checksum;
	old_parents = ex.parents;
	nold = ex.nparents;
	catalog_exec("DELETE FROM migrate.revision_head WHERE revision = $1",
				 1, argtypes, values, NULL, false, 0);
	catalog_exec("DELETE FROM migrate.revision WHERE id = $1",
				 1, argtypes, values, NULL, false, 0);
	update_heads(id, false, old_parents, nold, NULL, 0);

	audit_record(&ac, id, true, NULL, NULL, started_at,
				 GetCurrentTimestamp() - started_at, checksum, NULL);

	operation_end(0);
	PG_RETURN_VOID();
}

/*
 * The revisions a merge joins, each once, in the order given (default: the
 * graph heads, in id order; too many heads are refused here, a list too long
 * by the caller).
 */
static int *
merge_members(Graph *g, ArrayType *revisions, int *nrevs)
{
	int			n;
	char	  **refs;
	int		   *revs;
	bool	   *given;

	*nrevs = 0;
	if (revisions == NULL)
	{
		revs = graph_heads(g, nrevs);
		if (*nrevs > MIGRATE_MAX_LIST_NAMES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg_plural("cannot merge %d head at once", "cannot merge %d heads at once",
								   *nrevs, *nrevs),
					 errdetail_plural("A merge joins at most %d revision.", "A merge joins at most %d revisions.",
									  MIGRATE_MAX_LIST_NAMES, MIGRATE_MAX_LIST_NAMES),
					 errhint("Merge the heads in groups with migrate.merge(ARRAY[...]), then merge the merges.")));
		return revs;
	}

	refs = array_to_strings(revisions, "revisions", &n);
	revs = palloc(sizeof(int) * Max(n, 1));
	given = graph_new_marks(g);
	for (int i = 0; i < n; i++)
	{
		int			rev;

		CHECK_FOR_INTERRUPTS();
		rev = revision_resolve(g, refs[i]);
		if (!given[rev])
		{
			given[rev] = true;
			revs[(*nrevs)++] = rev;
		}
	}
	return revs;
}

/*
 * Refuses a merge of a revision with one of its descendants (through parents
 * or depends_on), naming the first merged revision, in the order given, that
 * descends from another and the first such other.  One search marks the
 * descendants of all of them together: O(V + E) time and memory.
 */
static void
check_unrelated(Graph *g, const int *revs, int nrevs)
{
	bool	   *below = graph_new_marks(g);
	bool	   *above = NULL;

	graph_mark_strict_descendants(g, revs, nrevs, below, true);
	for (int i = 0; i < nrevs; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!below[revs[i]])
			continue;

		/* the error path: which of the others is the ancestor */
		if (above == NULL)
			above = graph_new_marks(g);
		else
			memset(above, 0, sizeof(bool) * g->nrevs);
		graph_mark_strict_ancestors(g, &revs[i], 1, above, true);
		for (int j = 0; j < nrevs; j++)
			if (j != i && above[revs[j]])
				ereport(ERROR,
						(errcode(ERRCODE_CHECK_VIOLATION),
						 errmsg("cannot merge revision \"%s\" with its descendant \"%s\"",
								g->revs[revs[j]].id, g->revs[revs[i]].id),
						 errhint("Merge only revisions on different branches, such as the graph heads.")));
		/* marked only through a cycle back to itself, as a manual edit can make */
	}
}

PG_FUNCTION_INFO_V1(migrate_merge);

/* migrate.merge(revisions, message, id): a revision joining unrelated heads. */
Datum
migrate_merge(PG_FUNCTION_ARGS)
{
	ArrayType  *revisions = PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0);
	char	   *message = text_arg_or_null(fcinfo, 1);
	char	   *id = text_arg_or_null(fcinfo, 2);
	MemoryContext fn_cxt = CurrentMemoryContext;
	AuditContext ac;
	Graph	   *g;
	int		   *revs;
	int			nrevs;
	char	  **parents;
	char	   *result;

	operation_begin("migrate.merge()", 0);

	/* an explicit list too long is refused before the graph is loaded */
	if (revisions != NULL)
		check_list_length("revisions", ArrayGetNItems(ARR_NDIM(revisions), ARR_DIMS(revisions)),
						  _("Merge the revisions in groups, then merge the merges."));
	g = graph_load(false);
	revs = merge_members(g, revisions, &nrevs);

	if (nrevs < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a merge needs at least two distinct revisions"),
				 revisions == NULL ?
				 errdetail_plural("The revision graph has %d head.", "The revision graph has %d heads.",
								  nrevs, nrevs) :
				 errdetail_plural("%d distinct revision was given.", "%d distinct revisions were given.",
								  nrevs, nrevs)));
	check_unrelated(g, revs, nrevs);

	parents = palloc(sizeof(char *) * nrevs);
	for (int i = 0; i < nrevs; i++)
		parents[i] = g->revs[revs[i]].id;

	audit_begin(&ac, "add", NULL, 0);
	result = register_revision(id, "", "", strings_to_array(parents, nrevs),
							   message ? message : "merge", NULL, NULL, -1, NULL, NULL, &ac);
	result = MemoryContextStrdup(fn_cxt, result);

	operation_end(0);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}
