/*
 * schemamodel.c
 *		The schema model: the catalog of the managed schemas read into a
 *		canonical, ordered list of objects (kind, identity, definition).
 *
 * Objects are named, never numbered: identities are schema-qualified and
 * quoted, and the definitions come from the server's own deparsers
 * (pg_get_indexdef, pg_get_constraintdef, ...) read with search_path set to
 * "pg_catalog, pg_temp", so that every name outside pg_catalog comes out
 * qualified.  A dump and restore therefore gives the same model.  Schemas,
 * functions and types are read by one set-based statement, which also names
 * the managed relations; modelrel.c reads those relations with their parts,
 * and the whole is sorted by kind and identity in byte order.  Objects that
 * belong to an extension (a pg_depend row of type 'e', or their table's) are
 * left out.  README, "Drift", describes the definitions; the schema diff
 * builds on them.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

/* migrate.drift_schemas: the managed schemas, or "" for the default set */
char	   *migrate_drift_schemas = NULL;

/* An owner, quoted. */
#define M_OWNER(col) "pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(" col "))"

/*
 * A sorted ACL; NULL (the default) is spelled out by acldefault().  One
 * item (the owner's, a table's default) needs no sort, the costly part.
 */
#define M_ACL_ITEMS(acl, type, owner) "coalesce(" acl ", pg_catalog.acldefault('" type "', " owner "))"
#define M_ACL(acl, type, owner) \
	"CASE WHEN pg_catalog.cardinality(" M_ACL_ITEMS(acl, type, owner) ") = 1" \
	" THEN (" M_ACL_ITEMS(acl, type, owner) ")[1]::text" \
	" ELSE coalesce((SELECT pg_catalog.string_agg(x::text, ',' ORDER BY x::text COLLATE \"C\")" \
	" FROM pg_catalog.unnest(" M_ACL_ITEMS(acl, type, owner) ") x), '') END"

/*
 * Not an extension's member (a pg_depend row of type 'e'), or with 'i' not
 * part of another object (a range type's constructors, its multirange):
 * probed by pg_depend's index, so that a read of a few roots does not scan
 * all of pg_depend.
 */
#define M_NOT_DEPENDENT(catalog, objoid, deptype) \
	"NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog." catalog "'::pg_catalog.regclass" \
	"            AND e.objid = " objoid " AND e.deptype = '" deptype "')"

/* An optional comment line, from a LEFT JOIN of pg_description as d. */
#define M_COMMENT "coalesce(E'\\ncomment ' || pg_catalog.to_json(d.description)::text, '')"

/* A pg_description join for an object of the given catalog and sub-id. */
#define M_DESCR(objoid, catalog, subid) \
	" LEFT JOIN pg_catalog.pg_description d ON d.objoid = " objoid \
	" AND d.classoid = 'pg_catalog." catalog "'::pg_catalog.regclass AND d.objsubid = " subid

/*
 * The whole model in one statement: $1 the managed schemas (NULL: every
 * schema but the system ones, migrate's and the extensions').
 */
static const char *const model_sql =
"WITH ns AS ("
"  SELECT n.oid, n.nspname, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n"
"   WHERE CASE WHEN $1 IS NULL THEN"
"           n.nspname <> ALL ('{pg_catalog,information_schema,migrate}')"
"           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
"           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e"
"                            WHERE e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass"
"                              AND e.objid = n.oid AND e.deptype = 'e')"
"         ELSE n.nspname = ANY ($1) END),"
" obj (kind, identity, schema, definition, root, root_oid) AS ("
/* schemas */
"  SELECT 'schema', pg_catalog.quote_ident(ns.nspname), ns.nspname,"
"         'owner ' || " M_OWNER("ns.nspowner")
"         || E'\\nacl ' || " M_ACL("ns.nspacl", "n", "ns.nspowner") " || " M_COMMENT
"         , 'n:' || pg_catalog.quote_ident(ns.nspname), ns.oid"
"    FROM ns" M_DESCR("ns.oid", "pg_namespace", "0")
"   WHERE /*n*/ true"
/* functions, procedures and aggregates */
"  UNION ALL"
"  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,"
"         p.oid::pg_catalog.regprocedure::text, ns.nspname,"
"         'owner ' || " M_OWNER("p.proowner")
"         || E'\\nacl ' || " M_ACL("p.proacl", "f", "p.proowner") " || " M_COMMENT
"         || CASE WHEN p.prokind = 'a'"
"                 THEN E'\\nsfunc ' || ag.aggtransfn::pg_catalog.regprocedure::text"
"                      || E'\\nstype ' || pg_catalog.format_type(ag.aggtranstype, NULL)"
"                      || CASE WHEN ag.aggfinalfn::pg_catalog.oid <> 0 THEN E'\\nfinalfunc ' || ag.aggfinalfn::pg_catalog.regprocedure::text ELSE '' END"
"                      || coalesce(E'\\ninitcond ' || ag.agginitval, '')"
"                 ELSE E'\\ndefinition ' || pg_catalog.pg_get_functiondef(p.oid) END"
"         , 'p:' || p.oid::pg_catalog.regprocedure::text, p.oid"
"    FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace"
"    LEFT JOIN pg_catalog.pg_aggregate ag ON ag.aggfnoid = p.oid"
M_DESCR("p.oid", "pg_proc", "0")
"   WHERE /*p*/ " M_NOT_DEPENDENT("pg_proc", "p.oid", "e")
"     AND " M_NOT_DEPENDENT("pg_proc", "p.oid", "i")
/* enums, domains, composite and range types */
"  UNION ALL"
"  SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type'"
"                        WHEN 'r' THEN 'range type' ELSE 'type' END,"
"         pg_catalog.format_type(t.oid, NULL), ns.nspname,"
"         CASE t.typtype"
"           WHEN 'e' THEN 'labels ' || coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(en.enumlabel), ', ' ORDER BY en.enumsortorder)"
"                                                  FROM pg_catalog.pg_enum en WHERE en.enumtypid = t.oid), '')"
"           WHEN 'd' THEN 'type ' || pg_catalog.format_type(t.typbasetype, t.typtypmod)"
"                || CASE WHEN t.typnotnull THEN E'\\nnot null' ELSE '' END"
"                || coalesce(E'\\ndefault ' || pg_catalog.pg_get_expr(t.typdefaultbin, 0), '')"
"                || CASE WHEN t.typcollation <> bt.typcollation"
"                        THEN E'\\ncollate ' || t.typcollation::pg_catalog.regcollation::text ELSE '' END"
"                || coalesce((SELECT pg_catalog.string_agg(E'\\nconstraint ' || pg_catalog.quote_ident(dc.conname) || ' '"
"                                                          || pg_catalog.pg_get_constraintdef(dc.oid), '' ORDER BY dc.conname COLLATE \"C\")"
"                               FROM pg_catalog.pg_constraint dc WHERE dc.contypid = t.oid), '')"
"           WHEN 'c' THEN 'attributes ' || coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' '"
"                                                        || pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)"
"                                                      FROM pg_catalog.pg_attribute a"
"                                                     WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '')"
"           WHEN 'r' THEN 'subtype ' || (SELECT pg_catalog.format_type(rg.rngsubtype, NULL)"
"                                          FROM pg_catalog.pg_range rg WHERE rg.rngtypid = t.oid)"
"           ELSE 'input ' || t.typinput::pg_catalog.regprocedure::text"
"         END"
"         || E'\\nowner ' || " M_OWNER("t.typowner")
"         || E'\\nacl ' || " M_ACL("t.typacl", "T", "t.typowner") " || " M_COMMENT
"         , 't:' || pg_catalog.format_type(t.oid, NULL), t.oid"
"    FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace"
"    LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype"
"    LEFT JOIN pg_catalog.pg_class tc ON tc.oid = t.typrelid"
M_DESCR("t.oid", "pg_type", "0")
"   WHERE /*t*/ t.typtype IN ('b', 'e', 'd', 'c', 'r')"
"     AND (t.typtype <> 'c' OR tc.relkind = 'c')"
"     AND NOT (t.typtype = 'b' AND EXISTS (SELECT 1 FROM pg_catalog.pg_type el WHERE el.typarray = t.oid))"
"     AND " M_NOT_DEPENDENT("pg_type", "t.oid", "e")
"     AND " M_NOT_DEPENDENT("pg_type", "t.oid", "i")
/* relations: a row of each, which modelrel.c reads */
"  UNION ALL"
"  SELECT NULL, NULL, ns.nspname, NULL, NULL, c.oid"
"    FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace"
"   WHERE /*r*/ c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')"
"     AND " M_NOT_DEPENDENT("pg_class", "c.oid", "e")
")"
" SELECT kind, identity, definition, schema, root, root_oid FROM obj";

static SPIPlanPtr model_plan = NULL;

/* Defines migrate.drift_schemas. */
void
schemamodel_init(void)
{
	DefineCustomStringVariable("migrate.drift_schemas",
							   "The schemas whose objects the schema model and drift cover.",
							   "A comma-separated list of schema names; empty: every schema but pg_catalog, information_schema, pg_toast and temporary schemas, migrate and the schemas of extensions.",
							   &migrate_drift_schemas,
							   "",
							   PGC_SUSET, GUC_LIST_INPUT,
							   NULL, NULL, NULL);
}

/*
 * The managed schemas as a text[] Datum, or NULL for the default set: the
 * argument when given, else migrate.drift_schemas.
 */
Datum
schemamodel_schemas(ArrayType *arg, bool *isnull)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	char	  **elems;
	int			n = 0;

	*isnull = false;
	if (arg != NULL)
	{
		(void) array_to_strings(arg, "schemas", &n);
		return PointerGetDatum(arg);
	}
	if (migrate_drift_schemas == NULL || migrate_drift_schemas[0] == '\0')
	{
		*isnull = true;
		return (Datum) 0;
	}
	raw = pstrdup(migrate_drift_schemas);
	if (!SplitIdentifierString(raw, ',', &names))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migrate.drift_schemas is not a list of schema names"),
				 errdetail("It is \"%s\".", migrate_drift_schemas)));
	elems = palloc(sizeof(char *) * Max(list_length(names), 1));
	foreach(lc, names)
		elems[n++] = lfirst(lc);
	return PointerGetDatum(strings_to_array(elems, n));
}

/* The restricted model statement: model_sql reading only the given roots. */
static const char *
roots_sql(void)
{
	static char *sql = NULL;
	static const char *const markers[][2] = {
		/* relations are read by modelrel.c alone */
		{"/*r*/", "false AND"},
		{"/*p*/", "p.oid = ANY ($2) AND"},
		{"/*t*/", "t.oid = ANY ($3) AND"},
		{"/*n*/", "ns.oid = ANY ($4) AND"},
	};
	StringInfoData buf;
	const char *p = model_sql;

	if (sql != NULL)
		return sql;
	initStringInfo(&buf);
	while (*p != '\0')
	{
		bool		replaced = false;

		for (int i = 0; i < (int) lengthof(markers) && !replaced; i++)
			if (strncmp(p, markers[i][0], 5) == 0)
			{
				appendStringInfoString(&buf, markers[i][1]);
				p += 5;
				replaced = true;
			}
		if (!replaced)
			appendStringInfoChar(&buf, *p++);
	}
	sql = MemoryContextStrdup(TopMemoryContext, buf.data);
	pfree(buf.data);
	return sql;
}

/*
 * Pins, in a new GUC nest level returned for AtEOXact_GUC(), the settings
 * under which catalog definitions are read: search_path "pg_catalog,
 * pg_temp" (the deparsers qualify every other name), pg_dump's output
 * settings (definitions do not depend on the session), and no JIT: the
 * model query's cost estimate grows with the catalog (its deparsers and
 * per-table subqueries) past jit_optimize_above_cost, and compiling its
 * ~450 expressions with optimization and inlining took 3.6-3.9 s a read in
 * a database of 2,000 tables, far more than running them (bench/README.md,
 * "Drift").  The schema diff reads under the same settings.
 */
int
schemamodel_settings_push(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("datestyle", "ISO",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * Runs the model statement or the one of some roots, as prepared once in
 * *kept_plan, under schemamodel_settings_push(); the result is in
 * SPI_tuptable.
 */
static void
model_execute(SPIPlanPtr *kept_plan, const char *sql, int nargs, Oid *argtypes,
			  Datum *values, char *nulls)
{
	int			nestlevel = schemamodel_settings_push();
	int			ret;

	if (*kept_plan == NULL)
	{
		/*
		 * a generic plan: planning the statement again for each call's
		 * arguments took a tenth of a whole read
		 */
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_prepare failed for the schema model: %s",
				 SPI_result_code_string(SPI_result));
		*kept_plan = plan;
	}
	ret = SPI_execute_plan(*kept_plan, values, nulls, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed for the schema model: %s",
			 SPI_result_code_string(ret));
	AtEOXact_GUC(true, nestlevel);
}

/* qsort() comparator of model objects: schemamodel_compare(). */
static int
model_object_cmp(const void *a, const void *b)
{
	return schemamodel_compare((const ModelObject *) a, (const ModelObject *) b);
}

/* An empty model, in the current memory context. */
static SchemaModel *
model_new(void)
{
	SchemaModel *m = palloc(sizeof(SchemaModel));

	m->n = 0;
	m->capacity = 64;
	m->objs = palloc(sizeof(ModelObject) * m->capacity);
	return m;
}

/* A new object at the end of the model, to be filled in. */
ModelObject *
schemamodel_push(SchemaModel *m)
{
	if (m->n == m->capacity)
	{
		m->capacity *= 2;
		m->objs = repalloc(m->objs, sizeof(ModelObject) * m->capacity);
	}
	return &m->objs[m->n++];
}

/*
 * Adds the objects of the given relations (modelrel.c) to the model,
 * under schemamodel_settings_push().
 */
static void
model_add_relations(SchemaModel *m, List *relids)
{
	int			nestlevel;
	ListCell   *lc;

	if (relids == NIL)
		return;
	/*
	 * what the DDL just run in this transaction changed, with a new snapshot
	 * as SPI_execute() would take: deparsers that query (pg_get_viewdef())
	 * use the active one
	 */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	nestlevel = schemamodel_settings_push();
	modelrel_begin();
	foreach(lc, relids)
		modelrel_append(m, lfirst_oid(lc));
	modelrel_end();
	AtEOXact_GUC(true, nestlevel);
	PopActiveSnapshot();
}

/*
 * The model in SPI_tuptable, with the objects of the relations it names
 * (rows of a NULL kind) and of extra_relids, in caller_cxt, sorted when
 * asked (a fingerprint, a sum, needs no order); a NULL definition (an
 * object dropped while read) is "".
 */
static SchemaModel *
model_collect(MemoryContext caller_cxt, List *extra_relids, bool sorted)
{
	SchemaModel *rows;
	SchemaModel *m;
	List	   *relids = extra_relids;

	MemoryContextSwitchTo(caller_cxt);
	rows = schemamodel_from_spi();
	m = model_new();
	for (int i = 0; i < rows->n; i++)
	{
		ModelObject *o = &rows->objs[i];

		if (o->kind == NULL)
		{
			relids = lappend_oid(relids, o->root_oid);
			continue;
		}
		if (o->definition == NULL)
			o->definition = pstrdup("");
		*schemamodel_push(m) = *o;
	}
	model_add_relations(m, relids);
	/* sorted here: a sort in the statement copies every definition around */
	if (sorted)
		qsort(m->objs, m->n, sizeof(ModelObject), model_object_cmp);
	return m;
}

/* schemamodel_read(), the objects in the order asked. */
static SchemaModel *
model_read_whole(Datum schemas, bool schemas_null, bool sorted)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1] = {schemas};
	char		nulls[1] = {schemas_null ? 'n' : ' '};

	model_execute(&model_plan, model_sql, 1, argtypes, values, nulls);
	return model_collect(caller_cxt, NIL, sorted);
}

/*
 * Reads the model of the given schemas (NULL: the default set) as the
 * current user, with a new snapshot, so that the DDL the calling
 * transaction has just run is seen.  The caller is connected to SPI; the
 * model is allocated in the caller's memory context, sorted.
 */
SchemaModel *
schemamodel_read(Datum schemas, bool schemas_null)
{
	return model_read_whole(schemas, schemas_null, true);
}

/* The OIDs of a list, each once, as an oid[] Datum. */
static Datum
oid_list_array(List *oids)
{
	List	   *copy = list_copy(oids);
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(oids), 1));
	int			n = 0;
	ListCell   *lc;

	list_sort(copy, list_oid_cmp);
	list_deduplicate_oid(copy);
	foreach(lc, copy)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
}

/*
 * Reads the objects of the given roots only (relations with their columns,
 * constraints, indexes, triggers and policies; functions; types; schemas),
 * as schemamodel_read() reads the whole model: what a call's revisions
 * touched (drift.c).  roots: four OID lists, relations, functions, types,
 * schemas.  Relations are read by modelrel.c alone; the statement runs only
 * for the other roots.  Not sorted: the caller groups the objects by root.
 */
SchemaModel *
schemamodel_read_roots(Datum schemas, bool schemas_null, List **roots)
{
	static SPIPlanPtr roots_plan = NULL;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Oid			argtypes[4] = {TEXTARRAYOID, OIDARRAYOID, OIDARRAYOID, OIDARRAYOID};
	Datum		values[4];
	char		nulls[4] = {schemas_null ? 'n' : ' ', ' ', ' ', ' '};
	List	   *rels = list_copy(roots[0]);
	List	   *relids = NIL;
	ModelRelFilter filter;
	ListCell   *lc;
	SchemaModel *m;

	/* each relation once: its objects are keys of the recorded model */
	list_sort(rels, list_oid_cmp);
	list_deduplicate_oid(rels);
	modelrel_filter_init(&filter, schemas, schemas_null);
	modelrel_begin();
	foreach(lc, rels)
		if (modelrel_managed(&filter, lfirst_oid(lc)))
			relids = lappend_oid(relids, lfirst_oid(lc));
	modelrel_end();
	if (roots[1] == NIL && roots[2] == NIL && roots[3] == NIL)
	{
		m = model_new();
		model_add_relations(m, relids);
		return m;
	}
	values[0] = schemas;
	for (int g = 1; g < 4; g++)
		values[g] = oid_list_array(roots[g]);
	model_execute(&roots_plan, roots_sql(), 4, argtypes, values, nulls);
	return model_collect(caller_cxt, relids, false);
}

/*
 * Column col of a result row, NULL for NULL: a text column's text itself,
 * without SPI_getvalue()'s lookup of the output function for every value.
 */
static char *
model_text(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d;

	if (TupleDescAttr(desc, col - 1)->atttypid != TEXTOID)
		return SPI_getvalue(tup, desc, col);
	d = SPI_getbinval(tup, desc, col, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * The model in SPI's last result (kind, identity, definition, schema and
 * optionally root, root_oid: text but the oid), in the current memory
 * context; the result is freed.
 */
SchemaModel *
schemamodel_from_spi(void)
{
	SchemaModel *m = palloc(sizeof(SchemaModel));
	TupleDesc	desc = SPI_tuptable->tupdesc;

	m->n = (int) SPI_processed;
	m->capacity = Max(m->n, 1);
	m->objs = palloc(sizeof(ModelObject) * m->capacity);
	for (int i = 0; i < m->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		ModelObject *o = &m->objs[i];

		o->kind = model_text(tup, desc, 1);
		o->identity = model_text(tup, desc, 2);
		o->definition = model_text(tup, desc, 3);
		o->schema = model_text(tup, desc, 4);
		o->root = desc->natts >= 5 ? model_text(tup, desc, 5) : NULL;
		o->root_oid = InvalidOid;
		if (desc->natts >= 6)
		{
			bool		isnull;
			Datum		oid = SPI_getbinval(tup, desc, 6, &isnull);

			o->root_oid = isnull ? InvalidOid : DatumGetObjectId(oid);
		}
		if (o->root == NULL)
			o->root = "";
	}
	SPI_freetuptable(SPI_tuptable);
	return m;
}

/* The domain of an object's hash, and the one hashing a whole model's sum. */
#define MODEL_OBJECT_DOMAIN	"migrate schema object v2"
#define MODEL_SUM_DOMAIN	"migrate schema model v2"

/* Adds (or subtracts) an object's hash to the sum, modulo 2^256. */
void
modelsum_add(ModelSum *sum, const char *kind, const char *identity,
			 const char *definition, bool subtract)
{
	uint8		h[PG_SHA256_DIGEST_LENGTH];
	int			carry = 0;

	digest_object3(MODEL_OBJECT_DOMAIN, kind, identity, definition, h);
	/* big-endian: the last byte is the lowest */
	for (int i = sizeof(sum->bytes) - 1; i >= 0; i--)
	{
		int			v = subtract ? sum->bytes[i] - h[i] - carry : sum->bytes[i] + h[i] + carry;

		carry = subtract ? (v < 0) : (v > 255);
		sum->bytes[i] = (uint8) (v & 0xff);
	}
}

/* Adds every object of a model to the sum. */
void
modelsum_add_model(ModelSum *sum, SchemaModel *m)
{
	for (int i = 0; i < m->n; i++)
		modelsum_add(sum, m->objs[i].kind, m->objs[i].identity, m->objs[i].definition, false);
}

/* The sum in 64 hex digits, palloc'd. */
char *
modelsum_to_hex(const ModelSum *sum)
{
	char	   *hex = palloc(sizeof(sum->bytes) * 2 + 1);

	hex_encode((const char *) sum->bytes, sizeof(sum->bytes), hex);
	hex[sizeof(sum->bytes) * 2] = '\0';
	return hex;
}

/* Reads a sum written by modelsum_to_hex(); false when it is not one. */
bool
modelsum_from_hex(const char *hex, ModelSum *sum)
{
	if (hex == NULL || strlen(hex) != sizeof(sum->bytes) * 2 ||
		strspn(hex, "0123456789abcdef") != sizeof(sum->bytes) * 2)
		return false;
	(void) hex_decode(hex, sizeof(sum->bytes) * 2, (char *) sum->bytes);
	return true;
}

/* The fingerprint of a sum: its hex SHA-256. */
void
modelsum_fingerprint(const ModelSum *sum, char *hex_out)
{
	Digest	   *d = digest_begin(MODEL_SUM_DOMAIN);
	char	   *hex = modelsum_to_hex(sum);

	digest_text(d, hex);
	digest_end(d, hex_out);
	pfree(hex);
}

/* The hex fingerprint of a model: of the sum of its objects' hashes. */
void
schemamodel_fingerprint(SchemaModel *m, char *hex_out)
{
	ModelSum	sum;

	memset(&sum, 0, sizeof(sum));
	modelsum_add_model(&sum, m);
	modelsum_fingerprint(&sum, hex_out);
}

/* Orders two objects by kind, then identity, in byte order (the model's). */
int
schemamodel_compare(const ModelObject *a, const ModelObject *b)
{
	int			c = strcmp(a->kind, b->kind);

	return c != 0 ? c : strcmp(a->identity, b->identity);
}

/* The schemas argument of schema_model() and schema_fingerprint(). */
static Datum
schemas_argument(FunctionCallInfo fcinfo, bool *isnull)
{
	return schemamodel_schemas(PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0), isnull);
}

PG_FUNCTION_INFO_V1(migrate_schema_model);

/* migrate.schema_model(schemas): the model, one row per object. */
Datum
migrate_schema_model(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	SchemaModel *m;
	Datum		schemas;
	bool		schemas_null;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	schemas = schemas_argument(fcinfo, &schemas_null);
	catalog_connect();
	m = schemamodel_read(schemas, schemas_null);
	for (int i = 0; i < m->n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(m->objs[i].kind);
		values[1] = CStringGetTextDatum(m->objs[i].identity);
		values[2] = CStringGetTextDatum(m->objs[i].definition);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(migrate_schema_fingerprint);

/* migrate.schema_fingerprint(schemas): the hex SHA-256 of the model. */
Datum
migrate_schema_fingerprint(PG_FUNCTION_ARGS)
{
	char		hex[MIGRATE_HASH_HEXLEN + 1];
	SchemaModel *m;
	Datum		schemas;
	bool		schemas_null;

	schemas = schemas_argument(fcinfo, &schemas_null);
	catalog_connect();
	m = model_read_whole(schemas, schemas_null, false);
	schemamodel_fingerprint(m, hex);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(hex));
}
