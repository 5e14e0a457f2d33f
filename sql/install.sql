-- Install and uninstall: the objects, the config-dump registration and the
-- schema rule of SPEC section 7.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;
SELECT extname, extversion, extrelocatable, extnamespace::regnamespace
  FROM pg_extension WHERE extname = 'migrate';

-- every table is registered for pg_dump
SELECT unnest(extconfig)::regclass::text AS config_table
  FROM pg_extension WHERE extname = 'migrate' ORDER BY 1;

-- the functions of the slice
SELECT p.oid::regprocedure::text AS function, p.prokind, p.proisstrict, p.prosecdef
  FROM pg_proc p WHERE p.pronamespace = 'migrate'::regnamespace ORDER BY 1;

-- nothing is granted to PUBLIC
SELECT c.relname, EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0) AS public_grant
  FROM pg_class c WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'S')
  ORDER BY 1;
SELECT count(*) AS public_execute
  FROM pg_proc p, aclexplode(p.proacl) a
 WHERE p.pronamespace = 'migrate'::regnamespace AND a.grantee = 0;

-- every function, table, view and column has a description (\df+, \d+)
SELECT p.oid::regprocedure::text AS undocumented
  FROM pg_proc p WHERE p.pronamespace = 'migrate'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'v', 'S')
   AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT c.relname || '.' || a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind IN ('r', 'v')
   AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL;

SELECT migrate.lock_key();

-- a fresh install is empty
SELECT count(*) FROM migrate.revision;
SELECT count(*) FROM migrate.applied;
SELECT count(*) FROM migrate.history;
SELECT * FROM migrate.current();
SELECT * FROM migrate.heads();

-- uninstall removes the schema and everything in it
DROP EXTENSION migrate;
SELECT count(*) FROM pg_namespace WHERE nspname = 'migrate';

-- CREATE EXTENSION refuses a pre-created schema, which could capture the catalogs
CREATE SCHEMA migrate;
CREATE EXTENSION migrate;
DROP SCHEMA migrate;

-- and reinstalls cleanly
CREATE EXTENSION migrate;
SELECT count(*) FROM pg_class WHERE relnamespace = 'migrate'::regnamespace AND relkind = 'r';

-- the extension needs no search_path entry: it is never relocated
ALTER EXTENSION migrate SET SCHEMA public;
