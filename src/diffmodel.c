/*
 * diffmodel.c
 *		One schema read for the schema diff: its objects, each with what
 *		decides whether it changed and the statements that create, drop and
 *		alter it, and the dependencies between them from pg_depend.
 *
 * The conventions are the schema model's (schemamodel.c): the server's own
 * deparsers read with search_path "pg_catalog, pg_temp", so that every name
 * outside pg_catalog comes out qualified; identities schema-qualified and
 * quoted; one set-based statement per read, never a query per object.  The
 * diff needs more than the model's definitions (the statements, the OIDs
 * that pg_depend names), so it reads the catalog with its own two queries.
 *
 * A row's attrs are fields separated by DIFF_FIELD_SEP, and its create a list
 * of statements separated by DIFF_STMT_SEP.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"



/* A sorted ACL, the default spelled out by acldefault(). */
#define D_ACL(acl, type, owner) \
	"coalesce((SELECT pg_catalog.string_agg(x::text, ',' ORDER BY x::text COLLATE \"C\")" \
	" FROM pg_catalog.unnest(coalesce(" acl ", pg_catalog.acldefault('" type "', " owner "))) x), '')"

/* The default ACL of a new object of the owner. */
#define D_ACL0(type, owner) \
	"coalesce((SELECT pg_catalog.string_agg(x::text, ',' ORDER BY x::text COLLATE \"C\")" \
	" FROM pg_catalog.unnest(pg_catalog.acldefault('" type "', " owner ")) x), '')"

#define D_CLASS(catalog) "'pg_catalog." catalog "'::pg_catalog.regclass::pg_catalog.oid"

/*
 * expr, evaluated only once the row has joined col: a LATERAL subquery
 * that names the schema's (filtered) side is not run for the rows of the
 * whole catalog, where a deparser could open a relation that another
 * session is dropping.
 */
#define D_AFTER(col, expr) "CASE WHEN " col " IS NULL THEN NULL ELSE " expr " END"

/* A relation's storage options, sorted, or ''. */
#define D_OPTIONS(opts) \
	"coalesce((SELECT pg_catalog.string_agg(o, ', ' ORDER BY o COLLATE \"C\") FROM pg_catalog.unnest(" opts ") o), '')"

/*
 * Columns: kind, okind, identity, parent, core, attrs, create, drop, comment,
 * comment_target, acl, acl_default, grant_target, grant_column, classid,
 * objid, subid, owner, extra (an enum's statements when it is replaced).
 * $1 the schema's name.
 */
static const char *const diffmodel_sql =
"WITH ns AS (SELECT n.oid, pg_catalog.quote_ident(n.nspname) AS q"
"             FROM pg_catalog.pg_namespace n WHERE n.nspname = $1),"
" rel AS MATERIALIZED ("
"  SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relowner, c.reloptions, c.relacl,"
"         c.relrowsecurity, c.relforcerowsecurity, c.relispartition, c.relpartbound,"
"         ns.q || '.' || pg_catalog.quote_ident(c.relname) AS ident"
"    FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace"
"   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')"
"     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = " D_CLASS("pg_class") " AND e.objid = c.oid AND e.deptype = \'e\')"
"     AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend i"
"               WHERE i.classid = " D_CLASS("pg_class") " AND i.objid = c.oid AND i.deptype = 'i'))),"
" col AS MATERIALIZED ("
"  SELECT r.oid AS relid, r.ident, a.attnum, a.attname, a.attacl, pg_catalog.quote_ident(a.attname) AS qname,"
"         pg_catalog.format_type(a.atttypid, a.atttypmod) AS typname,"
"         CASE WHEN a.attcollation <> t.typcollation"
"              THEN ' COLLATE ' || a.attcollation::pg_catalog.regcollation::text ELSE '' END AS coll,"
"         a.attnotnull, a.attidentity::text AS identity, a.attgenerated = 's' AS generated,"
"         pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS expr,"
/* an identity column's sequence options */
"         CASE WHEN a.attidentity <> '' THEN"
"           (SELECT 'INCREMENT BY ' || s.seqincrement || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax"
"                   || ' START WITH ' || s.seqstart || ' CACHE ' || s.seqcache"
"                   || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END"
"              FROM pg_catalog.pg_depend i JOIN pg_catalog.pg_sequence s ON s.seqrelid = i.objid"
"             WHERE i.classid = " D_CLASS("pg_class") " AND i.refclassid = " D_CLASS("pg_class")
"               AND i.refobjid = a.attrelid AND i.refobjsubid = a.attnum AND i.deptype = 'i' LIMIT 1)"
"         END AS idopts"
"    FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0"
"     AND NOT a.attisdropped AND a.attislocal"
"    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
"    LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
"   WHERE r.relkind IN ('r', 'p')),"
" coldef AS ("
"  SELECT col.*, col.qname || ' ' || col.typname || col.coll"
"         || CASE WHEN col.generated THEN ' GENERATED ALWAYS AS (' || col.expr || ') STORED'"
"                 ELSE coalesce(' DEFAULT ' || col.expr, '') END"
"         || CASE col.identity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY (' || col.idopts || ')'"
"                              WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY (' || col.idopts || ')' ELSE '' END"
"         || CASE WHEN col.attnotnull THEN ' NOT NULL' ELSE '' END AS def"
"    FROM col),"
" tabcols AS MATERIALIZED ("
"  SELECT cd.relid, pg_catalog.string_agg(cd.def, E',\\n    ' ORDER BY cd.attnum) AS cols"
"    FROM coldef cd GROUP BY cd.relid),"
" obj AS ("
/* tables */
"  SELECT 'table' AS kind, 'table' AS okind, r.ident AS identity, NULL::text AS parent,"
"         'relkind ' || r.relkind::text"
"         || coalesce(' inherits ' || (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno)"
"                                        FROM pg_catalog.pg_inherits i WHERE i.inhrelid = r.oid), '')"
"         || coalesce(' partition bound ' || pg_catalog.pg_get_expr(r.relpartbound, r.oid), '')"
"         || coalesce(' partition by ' || pg_catalog.pg_get_partkeydef(r.oid), '') AS core,"
"         'ALTER TABLE ' || r.ident || CASE r.relpersistence WHEN 'u' THEN ' SET UNLOGGED;' ELSE ' SET LOGGED;' END"
"         || E'\\x1f' || 'ALTER TABLE ' || r.ident"
"         || CASE WHEN r.relrowsecurity THEN ' ENABLE' ELSE ' DISABLE' END || ' ROW LEVEL SECURITY;'"
"         || E'\\x1f' || 'ALTER TABLE ' || r.ident"
"         || CASE WHEN r.relforcerowsecurity THEN ' FORCE' ELSE ' NO FORCE' END || ' ROW LEVEL SECURITY;'"
"         || E'\\x1f' || " D_OPTIONS("r.reloptions") " AS attrs,"
"         'CREATE ' || CASE r.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END || 'TABLE ' || r.ident"
"         || CASE WHEN r.relispartition"
"                 THEN ' PARTITION OF ' || (SELECT i.inhparent::pg_catalog.regclass::text FROM pg_catalog.pg_inherits i"
"                                            WHERE i.inhrelid = r.oid LIMIT 1)"
"                      || ' ' || pg_catalog.pg_get_expr(r.relpartbound, r.oid)"
"                 ELSE ' (' || coalesce(E'\\n    ' || tc.cols || E'\\n', '') || ')'"
"                      || coalesce(' INHERITS (' || (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno)"
"                                                      FROM pg_catalog.pg_inherits i WHERE i.inhrelid = r.oid) || ')', '') END"
"         || coalesce(' PARTITION BY ' || pg_catalog.pg_get_partkeydef(r.oid), '')"
"         || coalesce(' WITH (' || pg_catalog.array_to_string(r.reloptions, ', ') || ')', '') || ';'"
"         || CASE WHEN r.relrowsecurity THEN E'\\x1e' || 'ALTER TABLE ' || r.ident || ' ENABLE ROW LEVEL SECURITY;' ELSE '' END"
"         || CASE WHEN r.relforcerowsecurity THEN E'\\x1e' || 'ALTER TABLE ' || r.ident || ' FORCE ROW LEVEL SECURITY;' ELSE '' END AS \"create\","
"         'DROP TABLE ' || r.ident || ';' AS \"drop\","
"         NULL::text AS comment, 'TABLE ' || r.ident AS comment_target,"
"         " D_ACL("r.relacl", "r", "r.relowner") " AS acl, " D_ACL0("r", "r.relowner") " AS acl_default,"
"         'TABLE ' || r.ident AS grant_target, NULL::text AS grant_column,"
"         " D_CLASS("pg_class") " AS classid, r.oid AS objid, 0 AS subid,"
"         pg_catalog.pg_get_userbyid(r.relowner)::text AS owner, NULL::text AS extra"
"    FROM rel r LEFT JOIN tabcols tc ON tc.relid = r.oid WHERE r.relkind IN ('r', 'p')"
/* columns */
"  UNION ALL"
"  SELECT 'column', 'column', cd.ident || '.' || cd.qname, cd.ident,"
"         CASE WHEN cd.generated THEN 'generated ' || cd.expr ELSE '' END,"
"         cd.typname || E'\\x1f' || CASE WHEN cd.generated THEN '' ELSE coalesce(cd.expr, '') END"
"         || E'\\x1f' || CASE WHEN cd.attnotnull THEN 't' ELSE 'f' END || E'\\x1f' || cd.identity"
"         || E'\\x1f' || cd.qname || E'\\x1f' || cd.coll || E'\\x1f' || coalesce(cd.idopts, ''),"
"         'ALTER TABLE ' || cd.ident || ' ADD COLUMN ' || cd.def || ';',"
"         'ALTER TABLE ' || cd.ident || ' DROP COLUMN ' || cd.qname || ';',"
"         NULL::text, 'COLUMN ' || cd.ident || '.' || cd.qname,"
"         coalesce((SELECT pg_catalog.string_agg(x::text, ',' ORDER BY x::text COLLATE \"C\")"
"                     FROM pg_catalog.unnest(cd.attacl) x), ''), '',"
"         'TABLE ' || cd.ident, cd.qname,"
"         " D_CLASS("pg_class") ", cd.relid, cd.attnum, NULL, NULL"
"    FROM coldef cd"
/* constraints of tables */
"  UNION ALL"
"  SELECT 'constraint', 'constraint', r.ident || '.' || pg_catalog.quote_ident(co.conname), r.ident,"
"         x.def, coalesce(x.indexcomment, ''),"
"         'ALTER TABLE ' || r.ident || ' ADD CONSTRAINT ' || pg_catalog.quote_ident(co.conname) || ' ' || x.def || ';'"
"         || CASE WHEN x.indexcomment LIKE '% IS NULL;' THEN '' ELSE coalesce(E'\\x1e' || x.indexcomment, '') END,"
"         'ALTER TABLE ' || r.ident || ' DROP CONSTRAINT ' || pg_catalog.quote_ident(co.conname) || ';',"
"         NULL::text,"
"         'CONSTRAINT ' || pg_catalog.quote_ident(co.conname) || ' ON ' || r.ident, NULL, NULL, NULL, NULL,"
"         " D_CLASS("pg_constraint") ", co.oid, 0, NULL, NULL"
"    FROM rel r JOIN pg_catalog.pg_constraint co ON co.conrelid = r.oid CROSS JOIN ns,"
"    LATERAL (SELECT " D_AFTER("r.oid", "pg_catalog.pg_get_constraintdef(co.oid)") " AS def,"
/* the comment of its index (a primary key's, a unique or exclusion constraint's), a statement */
"                    (SELECT 'COMMENT ON INDEX ' || ns.q || '.' || pg_catalog.quote_ident(ic.relname) || ' IS '"
"                            || coalesce(pg_catalog.quote_literal(di.description), 'NULL') || ';'"
"                       FROM pg_catalog.pg_class ic LEFT JOIN pg_catalog.pg_description di"
"                         ON di.objoid = ic.oid AND di.classoid = " D_CLASS("pg_class") " AND di.objsubid = 0"
"                      WHERE ic.oid = co.conindid AND co.contype IN ('p', 'u', 'x')) AS indexcomment"
"              OFFSET 0) x"
"   WHERE co.contype IN ('c', 'f', 'p', 'u', 'x') AND co.conislocal"
/* indexes that are not a constraint's nor a partition's */
"  UNION ALL"
"  SELECT 'index', 'index', ns.q || '.' || pg_catalog.quote_ident(c.relname), r.ident,"
"         x.def, '',"
/* an index of a partitioned table is created on its partitions too */
"         CASE WHEN r.relkind = 'p' THEN pg_catalog.regexp_replace(x.def, ' ON ONLY ', ' ON ') ELSE x.def END || ';',"
"         'DROP INDEX ' || ns.q || '.' || pg_catalog.quote_ident(c.relname) || ';',"
"         NULL::text, 'INDEX ' || ns.q || '.' || pg_catalog.quote_ident(c.relname),"
"         NULL, NULL, NULL, NULL, " D_CLASS("pg_class") ", i.indexrelid, 0, NULL, NULL"
"    FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid"
"    JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace,"
"    LATERAL (SELECT " D_AFTER("r.oid", "pg_catalog.pg_get_indexdef(i.indexrelid)") " AS def OFFSET 0) x"
"   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend k WHERE k.classid = " D_CLASS("pg_class")
"                        AND k.objid = i.indexrelid AND k.refclassid = " D_CLASS("pg_constraint") " AND k.deptype = 'i')"
"     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid)"
/* views and materialized views */
"  UNION ALL"
"  SELECT CASE r.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END,"
"         CASE r.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, r.ident, NULL,"
"         " D_OPTIONS("r.reloptions") " || E'\\n' || x.def, '',"
"         CASE r.relkind WHEN 'v' THEN 'CREATE VIEW ' ELSE 'CREATE MATERIALIZED VIEW ' END || r.ident"
"         || coalesce(' WITH (' || pg_catalog.array_to_string(r.reloptions, ', ') || ')', '') || E' AS\\n'"
"         || pg_catalog.rtrim(x.def, ';')"
"         || CASE r.relkind WHEN 'v' THEN ';' ELSE E'\\n  WITH DATA;' END,"
"         CASE r.relkind WHEN 'v' THEN 'DROP VIEW ' ELSE 'DROP MATERIALIZED VIEW ' END || r.ident || ';',"
"         NULL::text,"
"         CASE r.relkind WHEN 'v' THEN 'VIEW ' ELSE 'MATERIALIZED VIEW ' END || r.ident,"
"         " D_ACL("r.relacl", "r", "r.relowner") ", " D_ACL0("r", "r.relowner") ", 'TABLE ' || r.ident, NULL,"
"         " D_CLASS("pg_class") ", r.oid, 0, pg_catalog.pg_get_userbyid(r.relowner)::text, NULL"
"    FROM rel r, LATERAL (SELECT pg_catalog.pg_get_viewdef(r.oid) AS def OFFSET 0) x WHERE r.relkind IN ('v', 'm')"
/* sequences, and which column owns each */
"  UNION ALL"
"  SELECT 'sequence', 'sequence', r.ident, NULL, '',"
"         'ALTER SEQUENCE ' || r.ident || q.opts || ';' || E'\\x1f' || s.seqmin || E'\\x1f' || s.seqmax,"
"         'CREATE SEQUENCE ' || r.ident || q.opts || ';', 'DROP SEQUENCE ' || r.ident || ';',"
"         NULL::text, 'SEQUENCE ' || r.ident,"
"         " D_ACL("r.relacl", "s", "r.relowner") ", " D_ACL0("s", "r.relowner") ", 'SEQUENCE ' || r.ident, NULL,"
"         " D_CLASS("pg_class") ", r.oid, 0, pg_catalog.pg_get_userbyid(r.relowner)::text, NULL"
"    FROM rel r JOIN pg_catalog.pg_sequence s ON s.seqrelid = r.oid,"
"    LATERAL (SELECT ' AS ' || pg_catalog.format_type(s.seqtypid, NULL) || ' INCREMENT BY ' || s.seqincrement"
"                    || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' START WITH ' || s.seqstart"
"                    || ' CACHE ' || s.seqcache || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END AS opts) q"
"  UNION ALL"
"  SELECT 'sequence owned by', 'sequence', r.ident, NULL, o.owner, '',"
"         'ALTER SEQUENCE ' || r.ident || ' OWNED BY ' || o.owner || ';',"
"         'ALTER SEQUENCE ' || r.ident || ' OWNED BY NONE;', NULL, NULL, NULL, NULL, NULL, NULL,"
"         0::pg_catalog.oid, r.oid, 0, NULL, NULL"
"    FROM rel r JOIN LATERAL (SELECT dt.refobjid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname) AS owner"
"                               FROM pg_catalog.pg_depend dt JOIN pg_catalog.pg_attribute a"
"                                 ON a.attrelid = dt.refobjid AND a.attnum = dt.refobjsubid"
"                              WHERE dt.classid = " D_CLASS("pg_class") " AND dt.objid = r.oid AND dt.deptype = 'a'"
"                                AND dt.refclassid = " D_CLASS("pg_class") " AND dt.refobjsubid > 0 LIMIT 1) o ON true"
"   WHERE r.relkind = 'S'"
/* functions and procedures */
"  UNION ALL"
"  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,"
"         CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,"
"         p.oid::pg_catalog.regprocedure::text, NULL,"
"         p.prokind::text || ' returns ' || coalesce(pg_catalog.pg_get_function_result(p.oid), '')"
"         || ' arguments ' || pg_catalog.pg_get_function_arguments(p.oid),"
"         x.def, x.def,"
"         CASE p.prokind WHEN 'p' THEN 'DROP PROCEDURE ' ELSE 'DROP FUNCTION ' END"
"         || p.oid::pg_catalog.regprocedure::text || ';',"
"         NULL::text,"
"         CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END || p.oid::pg_catalog.regprocedure::text,"
"         " D_ACL("p.proacl", "f", "p.proowner") ", " D_ACL0("f", "p.proowner") ","
"         CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END || p.oid::pg_catalog.regprocedure::text, NULL,"
"         " D_CLASS("pg_proc") ", p.oid, 0, pg_catalog.pg_get_userbyid(p.proowner)::text, NULL"
"    FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace,"
"    LATERAL (SELECT " D_AFTER("ns.oid", "pg_catalog.rtrim(pg_catalog.pg_get_functiondef(p.oid), E'\\n') || ';'") " AS def OFFSET 0) x"
"   WHERE p.prokind IN ('f', 'p')"
"     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = " D_CLASS("pg_proc") " AND e.objid = p.oid AND e.deptype = \'e\')"
"     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = " D_CLASS("pg_proc") " AND e.objid = p.oid AND e.deptype = \'i\')"
/* triggers */
"  UNION ALL"
"  SELECT 'trigger', 'trigger', r.ident || '.' || pg_catalog.quote_ident(tg.tgname), r.ident,"
"         pg_catalog.pg_get_triggerdef(tg.oid),"
"         'ALTER TABLE ' || r.ident || CASE tg.tgenabled WHEN 'D' THEN ' DISABLE' WHEN 'R' THEN ' ENABLE REPLICA'"
"                                                        WHEN 'A' THEN ' ENABLE ALWAYS' ELSE ' ENABLE' END"
"         || ' TRIGGER ' || pg_catalog.quote_ident(tg.tgname) || ';',"
"         pg_catalog.pg_get_triggerdef(tg.oid) || ';'"
"         || CASE WHEN tg.tgenabled <> 'O'"
"                 THEN E'\\x1e' || 'ALTER TABLE ' || r.ident"
"                      || CASE tg.tgenabled WHEN 'D' THEN ' DISABLE' WHEN 'R' THEN ' ENABLE REPLICA' ELSE ' ENABLE ALWAYS' END"
"                      || ' TRIGGER ' || pg_catalog.quote_ident(tg.tgname) || ';' ELSE '' END,"
"         'DROP TRIGGER ' || pg_catalog.quote_ident(tg.tgname) || ' ON ' || r.ident || ';',"
"         NULL::text,"
"         'TRIGGER ' || pg_catalog.quote_ident(tg.tgname) || ' ON ' || r.ident, NULL, NULL, NULL, NULL,"
"         " D_CLASS("pg_trigger") ", tg.oid, 0, NULL, NULL"
"    FROM rel r JOIN pg_catalog.pg_trigger tg ON tg.tgrelid = r.oid AND NOT tg.tgisinternal AND tg.tgparentid = 0"
/* policies */
"  UNION ALL"
"  SELECT 'policy', 'policy', r.ident || '.' || pg_catalog.quote_ident(po.polname), r.ident, q.def, '',"
"         q.def, 'DROP POLICY ' || pg_catalog.quote_ident(po.polname) || ' ON ' || r.ident || ';',"
"         NULL::text,"
"         'POLICY ' || pg_catalog.quote_ident(po.polname) || ' ON ' || r.ident, NULL, NULL, NULL, NULL,"
"         " D_CLASS("pg_policy") ", po.oid, 0, NULL, NULL"
"    FROM rel r JOIN pg_catalog.pg_policy po ON po.polrelid = r.oid,"
"    LATERAL (SELECT 'CREATE POLICY ' || pg_catalog.quote_ident(po.polname) || ' ON ' || r.ident"
"                    || CASE WHEN po.polpermissive THEN ' AS PERMISSIVE' ELSE ' AS RESTRICTIVE' END"
"                    || ' FOR ' || CASE po.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'"
"                                   WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END"
"                    || ' TO ' || (SELECT pg_catalog.string_agg(nm, ', ' ORDER BY nm COLLATE \"C\")"
"                                    FROM (SELECT CASE WHEN x = 0 THEN 'PUBLIC'"
"                                                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x)) END AS nm"
"                                            FROM pg_catalog.unnest(po.polroles) x) rs)"
"                    || coalesce(' USING (' || pg_catalog.pg_get_expr(po.polqual, po.polrelid) || ')', '')"
"                    || coalesce(' WITH CHECK (' || pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid) || ')', '')"
"                    || ';' AS def) q"
/* enums, domains, composite and range types */
"  UNION ALL"
"  SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type'"
"                        ELSE 'range type' END,"
"         CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type'"
"                        ELSE 'range type' END,"
"         ty.ident, NULL,"
"         CASE t.typtype WHEN 'e' THEN '' WHEN 'c' THEN '' WHEN 'd' THEN ty.base ELSE ty.body END,"
"         CASE t.typtype WHEN 'e' THEN ty.labels WHEN 'c' THEN ty.attlist"
"              WHEN 'd' THEN 'ALTER DOMAIN ' || ty.ident"
"                            || coalesce(' SET DEFAULT ' || pg_catalog.pg_get_expr(t.typdefaultbin, 0), ' DROP DEFAULT') || ';'"
"                            || E'\\x1f' || 'ALTER DOMAIN ' || ty.ident"
"                            || CASE WHEN t.typnotnull THEN ' SET NOT NULL;' ELSE ' DROP NOT NULL;' END"
"              ELSE '' END,"
"         CASE t.typtype WHEN 'e' THEN 'CREATE TYPE ' || ty.ident || ' AS ENUM (' || ty.labels || ');'"
"              WHEN 'd' THEN 'CREATE DOMAIN ' || ty.ident || ' AS ' || ty.base"
"                            || coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(t.typdefaultbin, 0), '')"
"                            || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END || ';'"
"              ELSE 'CREATE TYPE ' || ty.ident || ' AS ' || ty.body || ';' END,"
"         CASE t.typtype WHEN 'd' THEN 'DROP DOMAIN ' ELSE 'DROP TYPE ' END || ty.ident || ';',"
"         NULL::text,"
"         CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END || ty.ident,"
"         " D_ACL("t.typacl", "T", "t.typowner") ", " D_ACL0("T", "t.typowner") ","
"         CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END || ty.ident, NULL,"
"         " D_CLASS("pg_type") ", t.oid, 0, pg_catalog.pg_get_userbyid(t.typowner)::text,"
/* an enum replaced: renamed out of the way first, dropped at the end */
"         CASE t.typtype WHEN 'e' THEN 'ALTER TYPE ' || ty.ident || ' RENAME TO '"
"              || pg_catalog.quote_ident(t.typname || '__migrate_old') || ';' || E'\\x1e'"
"              || 'DROP TYPE ' || ns.q || '.' || pg_catalog.quote_ident(t.typname || '__migrate_old') || ';' END"
"    FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace"
"    LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype"
"    LEFT JOIN pg_catalog.pg_class tc ON tc.oid = t.typrelid,"
"    LATERAL (SELECT " D_AFTER("ns.oid", "pg_catalog.format_type(t.oid, NULL)") " AS ident,"
"                    (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(en.enumlabel), ', ' ORDER BY en.enumsortorder)"
"                       FROM pg_catalog.pg_enum en WHERE en.enumtypid = t.oid) AS labels,"
"                    pg_catalog.format_type(t.typbasetype, t.typtypmod)"
"                    || CASE WHEN t.typcollation <> bt.typcollation"
"                            THEN ' COLLATE ' || t.typcollation::pg_catalog.regcollation::text ELSE '' END AS base,"
"                    CASE t.typtype WHEN 'c'"
"                         THEN '(' || coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' '"
"                                                  || pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)"
"                                                FROM pg_catalog.pg_attribute a"
"                                               WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ')'"
"                         WHEN 'r' THEN 'RANGE (SUBTYPE = ' || (SELECT pg_catalog.format_type(rg.rngsubtype, NULL)"
"                                                                 FROM pg_catalog.pg_range rg WHERE rg.rngtypid = t.oid) || ')'"
"                    END AS body,"
"                    (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' '"
"                                                  || pg_catalog.format_type(a.atttypid, a.atttypmod), E'\\x1f' ORDER BY a.attnum)"
"                       FROM pg_catalog.pg_attribute a"
"                      WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attlist) ty"
"   WHERE t.typtype IN ('e', 'd', 'c', 'r')"
"     AND (t.typtype <> 'c' OR tc.relkind = 'c')"
"     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = " D_CLASS("pg_type") " AND e.objid = t.oid AND e.deptype = \'e\')"
"     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = " D_CLASS("pg_type") " AND e.objid = t.oid AND e.deptype = \'i\')"
/* a domain's constraints */
"  UNION ALL"
"  SELECT 'domain constraint', 'domain', pg_catalog.format_type(t.oid, NULL) || '.' || pg_catalog.quote_ident(co.conname),"
"         pg_catalog.format_type(t.oid, NULL), pg_catalog.pg_get_constraintdef(co.oid), '',"
"         'ALTER DOMAIN ' || pg_catalog.format_type(t.oid, NULL) || ' ADD CONSTRAINT ' || pg_catalog.quote_ident(co.conname)"
"         || ' ' || pg_catalog.pg_get_constraintdef(co.oid) || ';',"
"         'ALTER DOMAIN ' || pg_catalog.format_type(t.oid, NULL) || ' DROP CONSTRAINT ' || pg_catalog.quote_ident(co.conname) || ';',"
"         NULL::text,"
"         'CONSTRAINT ' || pg_catalog.quote_ident(co.conname) || ' ON DOMAIN ' || pg_catalog.format_type(t.oid, NULL),"
"         NULL, NULL, NULL, NULL, " D_CLASS("pg_constraint") ", co.oid, 0, NULL, NULL"
"    FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace"
"    JOIN pg_catalog.pg_constraint co ON co.contypid = t.oid"
"   WHERE t.typtype = 'd'"
"     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = " D_CLASS("pg_type") " AND e.objid = t.oid AND e.deptype = \'e\')"
")"
/* the comments by one join; the order is made in C */
" SELECT o.kind, o.okind, o.identity, o.parent, o.core, o.attrs, o.\"create\", o.\"drop\", d.description,"
"        o.comment_target, o.acl, o.acl_default, o.grant_target, o.grant_column, o.classid, o.objid,"
"        o.subid, o.owner, o.extra"
"   FROM obj o LEFT JOIN pg_catalog.pg_description d"
"     ON d.objoid = o.objid AND d.classoid = o.classid AND d.objsubid = o.subid";

/*
 * The dependencies between the objects of one schema as pg_depend has them
 * (rows 'd'), and the aliases that translate an end to the object the diff
 * knows (rows 'a'): a view's rule to the view, a column default to its
 * column, a relation's row type to the relation, a composite type's
 * relation to the type, an array type to its element, a constraint's index
 * to the constraint.  A sequence's ownership is the row ('sequence owned
 * by', classid 0) that depends on the sequence and on the owning column.
 */
static const char *const diffdeps_sql =
"WITH ns AS (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = $1),"
" rel AS MATERIALIZED (SELECT c.oid, c.relkind, c.reltype FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace),"
" o AS ("
"  SELECT " D_CLASS("pg_class") " AS classid, rel.oid AS objid FROM rel"
"  UNION ALL SELECT " D_CLASS("pg_type") ", t.oid FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace"
"  UNION ALL SELECT " D_CLASS("pg_proc") ", p.oid FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace"
"  UNION ALL SELECT " D_CLASS("pg_constraint") ", k.oid FROM pg_catalog.pg_constraint k JOIN ns ON ns.oid = k.connamespace"
"  UNION ALL SELECT " D_CLASS("pg_trigger") ", g.oid FROM pg_catalog.pg_trigger g JOIN rel ON rel.oid = g.tgrelid"
"  UNION ALL SELECT " D_CLASS("pg_policy") ", y.oid FROM pg_catalog.pg_policy y JOIN rel ON rel.oid = y.polrelid"
"  UNION ALL SELECT " D_CLASS("pg_rewrite") ", w.oid FROM pg_catalog.pg_rewrite w JOIN rel ON rel.oid = w.ev_class"
"  UNION ALL SELECT " D_CLASS("pg_attrdef") ", ad.oid FROM pg_catalog.pg_attrdef ad JOIN rel ON rel.oid = ad.adrelid),"
" dep AS ("
"  SELECT d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid, d.refobjsubid, d.deptype,"
"         d.deptype = 'a' AND d.classid = " D_CLASS("pg_class") " AND d.refobjsubid > 0"
"         AND EXISTS (SELECT 1 FROM rel s WHERE s.oid = d.objid AND s.relkind = 'S') AS owned"
"    FROM o JOIN pg_catalog.pg_depend d ON d.classid = o.classid AND d.objid = o.objid"
"   WHERE d.deptype IN ('n', 'a', 'i'))"
" SELECT 'd', classid, objid, objsubid, refclassid, refobjid, refobjsubid FROM dep WHERE NOT owned"
" UNION ALL SELECT 'd', 0, objid, 0, classid, objid, 0 FROM dep WHERE owned"
" UNION ALL SELECT 'd', 0, objid, 0, refclassid, refobjid, refobjsubid FROM dep WHERE owned"
" UNION ALL SELECT 'a', " D_CLASS("pg_rewrite") ", w.oid, 0, " D_CLASS("pg_class") ", w.ev_class, 0"
"    FROM pg_catalog.pg_rewrite w JOIN rel ON rel.oid = w.ev_class"
" UNION ALL SELECT 'a', " D_CLASS("pg_attrdef") ", ad.oid, 0, " D_CLASS("pg_class") ", ad.adrelid, ad.adnum"
"    FROM pg_catalog.pg_attrdef ad JOIN rel ON rel.oid = ad.adrelid"
" UNION ALL SELECT 'a', " D_CLASS("pg_type") ", rel.reltype, 0, " D_CLASS("pg_class") ", rel.oid, 0"
"    FROM rel WHERE rel.relkind <> 'c' AND rel.reltype <> 0"
" UNION ALL SELECT 'a', " D_CLASS("pg_class") ", rel.oid, 0, " D_CLASS("pg_type") ", rel.reltype, 0"
"    FROM rel WHERE rel.relkind = 'c'"
" UNION ALL SELECT 'a', " D_CLASS("pg_type") ", t.typarray, 0, " D_CLASS("pg_type") ", t.oid, 0"
"    FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typarray <> 0"
" UNION ALL SELECT 'a', " D_CLASS("pg_class") ", k.conindid, 0, " D_CLASS("pg_constraint") ", k.oid, 0"
"    FROM pg_catalog.pg_constraint k JOIN ns ON ns.oid = k.connamespace"
"   WHERE k.contype IN ('p', 'u', 'x') AND k.conindid <> 0";

/* An object's key in pg_depend's terms. */
typedef struct DiffKey
{
	Oid			classid;
	Oid			objid;
	int32		subid;
} DiffKey;

typedef struct DiffKeyEntry
{
	DiffKey		key;
	int			index;			/* an object, or (aliases) unused */
	DiffKey		target;			/* aliases: what the key stands for */
} DiffKeyEntry;

static SPIPlanPtr model_plan = NULL;
static SPIPlanPtr deps_plan = NULL;

/* Runs a kept plan of one text argument, preparing it the first time. */
static void
run_plan(SPIPlanPtr *plan, const char *sql, const char *schema)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(schema)};
	int			ret;

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, 1, argtypes);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_prepare failed for the schema diff: %s",
				 SPI_result_code_string(SPI_result));
		*plan = p;
	}
	ret = SPI_execute_plan(*plan, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed for the schema diff: %s",
			 SPI_result_code_string(ret));
}

/* A column of SPI's current row as a string mapped to the from schema, or NULL. */
static char *
mapped_value(HeapTuple tup, TupleDesc desc, int col, const char *from_q, const char *to_q)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	if (v == NULL || from_q == NULL)
		return v;
	return diffsql_map_schema(v, from_q, to_q);
}

/* Orders two objects by kind, then identity, in byte order. */
static int
object_cmp(const void *a, const void *b)
{
	const DiffObject *x = a;
	const DiffObject *y = b;
	int			c = strcmp(x->kind, y->kind);

	return c != 0 ? c : strcmp(x->identity, y->identity);
}

/* Copies SPI's result of the model query into a side, mapped to the from schema. */
static DiffSide *
side_from_spi(const char *from_q, const char *to_q)
{
	DiffSide   *side = palloc(sizeof(DiffSide));
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;

	side->n = (int) SPI_processed;
	side->objs = palloc0(sizeof(DiffObject) * Max(side->n, 1));
	for (int i = 0; i < side->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		DiffObject *o = &side->objs[i];

		o->kind = SPI_getvalue(tup, desc, 1);
		o->okind = SPI_getvalue(tup, desc, 2);
		o->identity = mapped_value(tup, desc, 3, from_q, to_q);
		o->parent = mapped_value(tup, desc, 4, from_q, to_q);
		o->core = mapped_value(tup, desc, 5, from_q, to_q);
		o->attrs = mapped_value(tup, desc, 6, from_q, to_q);
		o->create = mapped_value(tup, desc, 7, from_q, to_q);
		o->drop = mapped_value(tup, desc, 8, from_q, to_q);
		o->comment = SPI_getvalue(tup, desc, 9);
		o->comment_target = mapped_value(tup, desc, 10, from_q, to_q);
		o->acl = SPI_getvalue(tup, desc, 11);
		o->acl_default = SPI_getvalue(tup, desc, 12);
		o->grant_target = mapped_value(tup, desc, 13, from_q, to_q);
		o->grant_column = SPI_getvalue(tup, desc, 14);
		o->classid = DatumGetObjectId(SPI_getbinval(tup, desc, 15, &isnull));
		o->objid = DatumGetObjectId(SPI_getbinval(tup, desc, 16, &isnull));
		o->subid = DatumGetInt32(SPI_getbinval(tup, desc, 17, &isnull));
		o->owner = SPI_getvalue(tup, desc, 18);
		o->extra = mapped_value(tup, desc, 19, from_q, to_q);
		o->parent_index = -1;
		/* a deparser gives NULL for an object dropped while we read */
		if (o->core == NULL)
			o->core = pstrdup("");
		if (o->attrs == NULL)
			o->attrs = pstrdup("");
		if (o->create == NULL)
			o->create = pstrdup("");
	}
	SPI_freetuptable(SPI_tuptable);
	/* in byte order, after the mapping */
	qsort(side->objs, side->n, sizeof(DiffObject), object_cmp);
	return side;
}

/* The object of the given kind and identity, or -1. */
int
diffmodel_find(DiffSide *side, const char *kind, const char *identity)
{
	DiffObject	key;
	DiffObject *found;

	key.kind = (char *) kind;
	key.identity = (char *) identity;
	found = bsearch(&key, side->objs, side->n, sizeof(DiffObject), object_cmp);
	return found ? (int) (found - side->objs) : -1;
}

/* The object a pg_depend end names, through the aliases, or -1. */
static int
resolve_key(HTAB *objects, HTAB *aliases, DiffKey k)
{
	DiffKeyEntry *e;
	DiffKey		whole;

	e = hash_search(aliases, &k, HASH_FIND, NULL);
	whole = k;
	whole.subid = 0;
	if (e == NULL && k.subid != 0)
		e = hash_search(aliases, &whole, HASH_FIND, NULL);
	if (e != NULL)
		k = e->target;
	e = hash_search(objects, &k, HASH_FIND, NULL);
	if (e == NULL && k.subid != 0)
	{
		k.subid = 0;
		e = hash_search(objects, &k, HASH_FIND, NULL);
	}
	return e ? e->index : -1;
}

/* A new hash table of DiffKeyEntry. */
static HTAB *
key_table(const char *name, long size)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(DiffKey);
	ctl.entrysize = sizeof(DiffKeyEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(size, 16), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Adds the edge "a depends on b" (once per pair is not needed: duplicates are harmless). */
static void
add_edge(DiffSide *side, int a, int b, int *cap_deps, int *cap_rdeps)
{
	DiffObject *x = &side->objs[a];
	DiffObject *y = &side->objs[b];

	if (a == b)
		return;
	if (x->ndeps == cap_deps[a])
	{
		cap_deps[a] = Max(4, cap_deps[a] * 2);
		x->deps = x->deps ? repalloc(x->deps, sizeof(int) * cap_deps[a]) : palloc(sizeof(int) * cap_deps[a]);
	}
	x->deps[x->ndeps++] = b;
	if (y->nrdeps == cap_rdeps[b])
	{
		cap_rdeps[b] = Max(4, cap_rdeps[b] * 2);
		y->rdeps = y->rdeps ? repalloc(y->rdeps, sizeof(int) * cap_rdeps[b]) : palloc(sizeof(int) * cap_rdeps[b]);
	}
	y->rdeps[y->nrdeps++] = a;
}

/* The parent of each sub-object: a column's table, a domain constraint's domain. */
static void
link_parents(DiffSide *side, int *cap_deps, int *cap_rdeps)
{
	static const char *const parent_kinds[] = {"table", "materialized view", "view", "domain"};

	for (int i = 0; i < side->n; i++)
	{
		DiffObject *o = &side->objs[i];

		if (o->parent == NULL)
			continue;
		for (int k = 0; k < (int) lengthof(parent_kinds) && o->parent_index < 0; k++)
			o->parent_index = diffmodel_find(side, parent_kinds[k], o->parent);
		if (o->parent_index >= 0)
			add_edge(side, i, o->parent_index, cap_deps, cap_rdeps);
	}
}

/* Reads the dependencies of a side's objects (SPI's result of the deps query). */
static void
read_deps(DiffSide *side)
{
	HTAB	   *objects = key_table("diff objects", side->n);
	HTAB	   *aliases = key_table("diff aliases", side->n);
	TupleDesc	desc = SPI_tuptable->tupdesc;
	int		   *cap_deps = palloc0(sizeof(int) * Max(side->n, 1));
	int		   *cap_rdeps = palloc0(sizeof(int) * Max(side->n, 1));
	bool		isnull;

	for (int i = 0; i < side->n; i++)
	{
		DiffKey		k = {side->objs[i].classid, side->objs[i].objid, side->objs[i].subid};
		DiffKeyEntry *e = hash_search(objects, &k, HASH_ENTER, NULL);

		e->index = i;
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		DiffKey		a = {DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull)),
			DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull)),
		DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull))};
		DiffKey		b = {DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull)),
			DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull)),
		DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull))};
		char	   *flag = SPI_getvalue(tup, desc, 1);

		if (flag[0] == 'a')
		{
			DiffKeyEntry *e = hash_search(aliases, &a, HASH_ENTER, NULL);

			e->target = b;
		}
	}
	link_parents(side, cap_deps, cap_rdeps);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		char	   *flag = SPI_getvalue(tup, desc, 1);
		DiffKey		a,
					b;
		int			x,
					y;

		if (flag[0] != 'd')
			continue;
		a.classid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		a.objid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		a.subid = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		b.classid = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
		b.objid = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
		b.subid = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
		x = resolve_key(objects, aliases, a);
		y = resolve_key(objects, aliases, b);
		if (x >= 0 && y >= 0)
			add_edge(side, x, y, cap_deps, cap_rdeps);
	}
	SPI_freetuptable(SPI_tuptable);
	hash_destroy(objects);
	hash_destroy(aliases);
}

/*
 * Reads one schema (the caller is connected to SPI) as the current user,
 * with search_path "pg_catalog, pg_temp" and pg_dump's output settings, as
 * the schema model is read.  from_schema: the other side's name, into which
 * this side's names are mapped, or NULL when this side is the from side.
 */
DiffSide *
diffmodel_read(const char *schema, const char *from_schema)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	int			nestlevel = schemamodel_settings_push();
	const char *from_q = from_schema ? quote_identifier(from_schema) : NULL;
	const char *to_q = from_schema ? quote_identifier(schema) : NULL;
	DiffSide   *side;

	/* one plan for every schema: planning the big query is a good part of a small diff */
	(void) set_config_option("plan_cache_mode", "force_generic_plan",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	run_plan(&model_plan, diffmodel_sql, schema);
	MemoryContextSwitchTo(caller_cxt);
	side = side_from_spi(from_q, to_q);
	run_plan(&deps_plan, diffdeps_sql, schema);
	MemoryContextSwitchTo(caller_cxt);
	read_deps(side);
	AtEOXact_GUC(true, nestlevel);
	return side;
}
