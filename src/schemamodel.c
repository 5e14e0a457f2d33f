/*
 * schemamodel.c
 *		The schema model: the catalog of the managed schemas read into a
 *		canonical, ordered list of objects (kind, identity, definition).
 *
 * Objects are named, never numbered: identities are schema-qualified and
 * quoted, and the definitions come from the server's own deparsers
 * (pg_get_indexdef, pg_get_constraintdef, ...) read with search_path set to
 * "pg_catalog, pg_temp", so that every name outside pg_catalog comes out
 * qualified.  A dump and restore therefore gives the same model.  Each kind
 * is read by one set-based query, all in one statement, sorted by kind and
 * identity in byte order; no query per object.  Objects that belong to an
 * extension (a pg_depend row of type 'e', or their table's) are left out.
 * README, "Drift", describes the definitions; the schema diff builds on them.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
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
 * An index's definition, pg_get_indexdef()'s text: composed here for an
 * index of one plain column with its type's default operator class, default
 * collation and order, and no option (most indexes), as pg_get_indexdef()
 * would write it; pg_get_indexdef() for any other (it looks up the default
 * operator class of each column by scanning pg_opclass, the costliest part
 * of the model).  sql/schemamodel.sql compares both for many shapes.
 */
#define M_INDEXDEF \
	"CASE WHEN i.indnatts = 1 AND i.indexprs IS NULL AND i.indpred IS NULL" \
	"       AND c.reloptions IS NULL AND NOT i.indnullsnotdistinct AND r.relkind <> 'p'" \
	"       AND i.indoption[0] = 0 AND io.opcdefault AND io.opcintype = ia.atttypid" \
	"       AND i.indcollation[0] = ia.attcollation" \
	" THEN 'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '" \
	"      || pg_catalog.quote_ident(c.relname) || ' ON ' || r.ident" \
	"      || ' USING ' || pg_catalog.quote_ident(am.amname) || ' (' || pg_catalog.quote_ident(ia.attname) || ')'" \
	" ELSE pg_catalog.pg_get_indexdef(i.indexrelid) END"

/*
 * What M_INDEXDEF reads: the first column (looked up by the index of
 * pg_attribute: a join hashed all of pg_attribute), its operator class, the
 * access method.
 */
#define M_INDEXDEF_JOINS \
	" LEFT JOIN LATERAL (SELECT ia.attname, ia.atttypid, ia.attcollation FROM pg_catalog.pg_attribute ia" \
	"                     WHERE ia.attrelid = i.indrelid AND ia.attnum = i.indkey[0] AND ia.attnum > 0 LIMIT 1) ia ON true" \
	" LEFT JOIN pg_catalog.pg_opclass io ON io.oid = i.indclass[0]" \
	" LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam"

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
" rel AS MATERIALIZED ("
"  SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relowner, c.reloptions, c.relacl,"
"         c.relrowsecurity, c.relforcerowsecurity, c.relpartbound, ns.nspname,"
"         pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS ident"
"    FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace"
"   WHERE /*r*/ c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')"
"     AND " M_NOT_DEPENDENT("pg_class", "c.oid", "e") "),"
" obj (kind, identity, schema, definition, root, root_oid) AS ("
/* schemas */
"  SELECT 'schema', pg_catalog.quote_ident(ns.nspname), ns.nspname,"
"         'owner ' || " M_OWNER("ns.nspowner")
"         || E'\\nacl ' || " M_ACL("ns.nspacl", "n", "ns.nspowner") " || " M_COMMENT
"         , 'n:' || pg_catalog.quote_ident(ns.nspname), ns.oid"
"    FROM ns" M_DESCR("ns.oid", "pg_namespace", "0")
"   WHERE /*n*/ true"
/* tables */
"  UNION ALL"
"  SELECT 'table', r.ident, r.nspname,"
"         'relkind ' || r.relkind::text || E'\\npersistence ' || r.relpersistence::text"
"         || E'\\nowner ' || " M_OWNER("r.relowner")
"         || E'\\ncolumns ' || pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.quote_ident(a.attname)"
"                                                              FROM pg_catalog.pg_attribute a"
"                                                             WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped"
"                                                             ORDER BY a.attnum), ', ')"
"         || coalesce(E'\\ninherits ' || (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno)"
"                                           FROM pg_catalog.pg_inherits i WHERE i.inhrelid = r.oid), '')"
"         || coalesce(E'\\npartition bound ' || pg_catalog.pg_get_expr(r.relpartbound, r.oid), '')"
"         || coalesce(E'\\npartition by ' || pg_catalog.pg_get_partkeydef(r.oid), '')"
"         || CASE WHEN r.reloptions IS NOT NULL"
"                 THEN coalesce(E'\\noptions ' || (SELECT pg_catalog.string_agg(o, ',' ORDER BY o COLLATE \"C\")"
"                                                   FROM pg_catalog.unnest(r.reloptions) o), '') ELSE '' END"
"         || CASE WHEN r.relrowsecurity THEN E'\\nrow level security' ELSE '' END"
"         || CASE WHEN r.relforcerowsecurity THEN E'\\nforce row level security' ELSE '' END"
"         || E'\\nacl ' || " M_ACL("r.relacl", "r", "r.relowner") " || " M_COMMENT
"         , 'r:' || r.ident, r.oid"
"    FROM rel r" M_DESCR("r.oid", "pg_class", "0")
"   WHERE r.relkind IN ('r', 'p', 'f')"
/* columns */
"  UNION ALL"
"  SELECT 'column', r.ident || '.' || pg_catalog.quote_ident(a.attname), r.nspname,"
"         'type ' || pg_catalog.format_type(a.atttypid, a.atttypmod)"
"         || CASE WHEN a.attnotnull THEN E'\\nnot null' ELSE '' END"
/* a default names no column: deparsed without opening its table, unlike a generation expression */
"         || CASE WHEN a.attgenerated = 's'"
"                 THEN E'\\ngenerated always as (' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) || ') stored'"
"                 ELSE coalesce(E'\\ndefault ' || pg_catalog.pg_get_expr(ad.adbin, 0), '') END"
"         || CASE a.attidentity WHEN 'a' THEN E'\\ngenerated always as identity'"
"                               WHEN 'd' THEN E'\\ngenerated by default as identity' ELSE '' END"
"         || CASE WHEN a.attcollation <> t.typcollation"
"                 THEN E'\\ncollate ' || a.attcollation::pg_catalog.regcollation::text ELSE '' END"
"         || CASE WHEN a.attacl IS NOT NULL"
"                 THEN coalesce(E'\\nacl ' || (SELECT pg_catalog.string_agg(x::text, ',' ORDER BY x::text COLLATE \"C\")"
"                                               FROM pg_catalog.unnest(a.attacl) x), '') ELSE '' END"
"         || " M_COMMENT
"         , 'r:' || r.ident, r.oid"
"    FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped"
"    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
"    LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
M_DESCR("a.attrelid", "pg_class", "a.attnum")
"   WHERE r.relkind IN ('r', 'p', 'f')"
/* table constraints */
"  UNION ALL"
"  SELECT 'constraint', r.ident || '.' || pg_catalog.quote_ident(co.conname), r.nspname,"
"         pg_catalog.pg_get_constraintdef(co.oid) || " M_COMMENT
"         , 'r:' || r.ident, r.oid"
"    FROM rel r JOIN pg_catalog.pg_constraint co ON co.conrelid = r.oid"
M_DESCR("co.oid", "pg_constraint", "0")
/* indexes, of the tables and materialized views above */
"  UNION ALL"
"  SELECT 'index', pg_catalog.quote_ident(r.nspname) || '.' || pg_catalog.quote_ident(c.relname), r.nspname,"
"         " M_INDEXDEF
"         || CASE WHEN NOT i.indisvalid THEN E'\\ninvalid' ELSE '' END || " M_COMMENT
"         , 'r:' || r.ident, r.oid"
"    FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid"
"    JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid" M_INDEXDEF_JOINS
M_DESCR("i.indexrelid", "pg_class", "0")
/* views and materialized views */
"  UNION ALL"
"  SELECT CASE r.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, r.ident, r.nspname,"
"         'owner ' || " M_OWNER("r.relowner")
"         || CASE WHEN r.reloptions IS NOT NULL"
"                 THEN coalesce(E'\\noptions ' || (SELECT pg_catalog.string_agg(o, ',' ORDER BY o COLLATE \"C\")"
"                                                   FROM pg_catalog.unnest(r.reloptions) o), '') ELSE '' END"
"         || E'\\nacl ' || " M_ACL("r.relacl", "r", "r.relowner") " || " M_COMMENT
"         || E'\\ndefinition ' || pg_catalog.pg_get_viewdef(r.oid)"
"         , 'r:' || r.ident, r.oid"
"    FROM rel r" M_DESCR("r.oid", "pg_class", "0")
"   WHERE r.relkind IN ('v', 'm')"
/* sequences */
"  UNION ALL"
"  SELECT 'sequence', r.ident, r.nspname,"
"         'type ' || pg_catalog.format_type(s.seqtypid, NULL) || E'\\nstart ' || s.seqstart"
"         || E'\\nincrement ' || s.seqincrement || E'\\nminvalue ' || s.seqmin"
"         || E'\\nmaxvalue ' || s.seqmax || E'\\ncache ' || s.seqcache"
"         || CASE WHEN s.seqcycle THEN E'\\ncycle' ELSE '' END"
"         || coalesce(E'\\nowned by ' || (SELECT dt.refobjid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname)"
"                                          FROM pg_catalog.pg_depend dt JOIN pg_catalog.pg_attribute a"
"                                            ON a.attrelid = dt.refobjid AND a.attnum = dt.refobjsubid"
"                                         WHERE dt.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
"                                           AND dt.objid = r.oid AND dt.deptype IN ('a', 'i')"
"                                           AND dt.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
"                                           AND dt.refobjsubid > 0 LIMIT 1), '')"
"         || E'\\nowner ' || " M_OWNER("r.relowner")
"         || E'\\nacl ' || " M_ACL("r.relacl", "s", "r.relowner") " || " M_COMMENT
"         , 'r:' || r.ident, r.oid"
"    FROM rel r JOIN pg_catalog.pg_sequence s ON s.seqrelid = r.oid"
M_DESCR("r.oid", "pg_class", "0")
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
/* triggers */
"  UNION ALL"
"  SELECT 'trigger', r.ident || '.' || pg_catalog.quote_ident(tg.tgname), r.nspname,"
"         pg_catalog.pg_get_triggerdef(tg.oid)"
"         || CASE WHEN tg.tgenabled <> 'O' THEN E'\\nenabled ' || tg.tgenabled::text ELSE '' END || " M_COMMENT
"         , 'r:' || r.ident, r.oid"
"    FROM rel r JOIN pg_catalog.pg_trigger tg ON tg.tgrelid = r.oid AND NOT tg.tgisinternal"
M_DESCR("tg.oid", "pg_trigger", "0")
/* policies */
"  UNION ALL"
"  SELECT 'policy', r.ident || '.' || pg_catalog.quote_ident(po.polname), r.nspname,"
"         CASE WHEN po.polpermissive THEN 'as permissive' ELSE 'as restrictive' END"
"         || E'\\nfor ' || CASE po.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert'"
"                                       WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete' ELSE 'all' END"
"         || E'\\nto ' || (SELECT pg_catalog.string_agg(nm, ', ' ORDER BY nm COLLATE \"C\")"
"                            FROM (SELECT CASE WHEN x = 0 THEN 'public'"
"                                         ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x)) END AS nm"
"                                    FROM pg_catalog.unnest(po.polroles) x) rs)"
"         || coalesce(E'\\nusing (' || pg_catalog.pg_get_expr(po.polqual, po.polrelid) || ')', '')"
"         || coalesce(E'\\nwith check (' || pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid) || ')', '')"
"         || " M_COMMENT
"         , 'r:' || r.ident, r.oid"
"    FROM rel r JOIN pg_catalog.pg_policy po ON po.polrelid = r.oid"
M_DESCR("po.oid", "pg_policy", "0")
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
		{"/*r*/", "c.oid = ANY ($2) AND"},
		{"/*p*/", "p.oid = ANY ($3) AND"},
		{"/*t*/", "t.oid = ANY ($4) AND"},
		{"/*n*/", "ns.oid = ANY ($5) AND"},
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
 * SPI_tuptable.  The whole model is read without nested loops: the
 * planner's estimate of the managed relations (a CTE filtered by relkind)
 * is a few rows, so it probes pg_attrdef and pg_description by index for
 * every column, twice the time of hashing them once (bench/README.md,
 * "Drift"); a read of a few roots keeps the probes.
 */
static void
model_execute(SPIPlanPtr *kept_plan, const char *sql, int nargs, Oid *argtypes,
			  Datum *values, char *nulls, bool whole)
{
	int			nestlevel = schemamodel_settings_push();
	int			ret;

	if (whole)
		(void) set_config_option("enable_nestloop", "off",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

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

/*
 * The model in SPI_tuptable, in caller_cxt, sorted when asked (a
 * fingerprint, a sum, needs no order); a NULL definition (an object dropped
 * while read) is "".
 */
static SchemaModel *
model_collect(MemoryContext caller_cxt, bool sorted)
{
	SchemaModel *m;

	MemoryContextSwitchTo(caller_cxt);
	m = schemamodel_from_spi();
	for (int i = 0; i < m->n; i++)
		if (m->objs[i].definition == NULL)
			m->objs[i].definition = pstrdup("");
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

	model_execute(&model_plan, model_sql, 1, argtypes, values, nulls, true);
	return model_collect(caller_cxt, sorted);
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

/*
 * Reads the objects of the given roots only (relations with their columns,
 * constraints, indexes, triggers and policies; functions; types; schemas),
 * as schemamodel_read() reads the whole model: what a call's revisions
 * touched (drift.c).  roots: four oid[] Datums, relations, functions, types,
 * schemas.
 */
SchemaModel *
schemamodel_read_roots(Datum schemas, bool schemas_null, Datum *roots)
{
	static SPIPlanPtr roots_plan = NULL;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Oid			argtypes[5] = {TEXTARRAYOID, OIDARRAYOID, OIDARRAYOID, OIDARRAYOID, OIDARRAYOID};
	Datum		values[5] = {schemas, roots[0], roots[1], roots[2], roots[3]};
	char		nulls[5] = {schemas_null ? 'n' : ' ', ' ', ' ', ' ', ' '};

	model_execute(&roots_plan, roots_sql(), 5, argtypes, values, nulls, false);
	return model_collect(caller_cxt, true);
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
	m->objs = palloc(sizeof(ModelObject) * Max(m->n, 1));
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
