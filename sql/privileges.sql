SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- Privileges, with real roles (SPEC section 7, docs/roles.md):
--   regress_migrate_nobody    no grants at all
--   regress_migrate_usage     USAGE on schema migrate and nothing else
--   regress_migrate_deployer  the deployer GRANTs of docs/roles.md
--   regress_migrate_auditor   the auditor GRANTs of docs/roles.md
--   regress_migrate_weak      a registrant that may add and run its own revisions
--   regress_migrate_admin     a superuser
-- First the matrix: every function of schema migrate and every action on its
-- tables, view and sequences, tried by the first four roles ("denied" is
-- 42501; "allowed" is anything else, the call's own effect always rolled
-- back).  Nothing is granted to PUBLIC, the extension's tables can be
-- written only through its functions, and a deployer's or auditor's grants
-- are exactly what docs/roles.md says.  Then what the roles do: a deployer
-- adds and runs its own revisions, whose SQL runs as itself (no CREATE ROLE
-- ... SUPERUSER, no writes to migrate's tables, even from a revision); a
-- superuser refuses to run a revision added by a weaker role until it SET
-- ROLEs to it; an auditor reads everything and writes nothing.
\set VERBOSITY default
-- leftovers of an interrupted run
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.t_dep1, public.t_dep2, public.t_weak, public.t_admin;
DROP ROLE IF EXISTS regress_migrate_nobody, regress_migrate_usage, regress_migrate_deployer,
                    regress_migrate_auditor, regress_migrate_weak, regress_migrate_admin,
                    regress_migrate_evil;
RESET client_min_messages;

CREATE ROLE regress_migrate_nobody;
CREATE ROLE regress_migrate_usage;
CREATE ROLE regress_migrate_deployer;
CREATE ROLE regress_migrate_auditor;
CREATE ROLE regress_migrate_weak;
CREATE ROLE regress_migrate_admin SUPERUSER;
GRANT USAGE ON SCHEMA migrate TO regress_migrate_usage;

-- the deployer, exactly as in docs/roles.md
GRANT USAGE ON SCHEMA migrate TO regress_migrate_deployer;
GRANT EXECUTE ON FUNCTION
    migrate.add(text, text, text, text[], text, text[], text[], boolean, text[]),
    migrate.add_script(text),
    migrate.repair(text, text, text),
    migrate.adopt_alembic(text),
    migrate.adopt_flyway(text),
    migrate.remove(text),
    migrate.merge(text[], text, text),
    migrate.upgrade(text),
    migrate.downgrade(text),
    migrate.stamp(text),
    migrate.offline_begin(text, text, text[]),
    migrate.offline_step(text, text),
    migrate.current(),
    migrate.heads(),
    migrate.revisions(text),
    migrate.show(text),
    migrate.plan(text, text),
    migrate.lint(text, boolean),
    migrate.lint_sql(text),
    migrate.script(text),
    migrate.upgrade_sql(text, text, boolean),
    migrate.downgrade_sql(text, text),
    migrate.verify(),
    migrate.check(),
    migrate.lock_key(),
    migrate.schema_model(text[]),
    migrate.schema_fingerprint(text[]),
    migrate.drift(),
    migrate.accept_drift(text),
    migrate.diff(text, text, text[], boolean),
    migrate.autogenerate(text, text, text, text, text[], boolean)
  TO regress_migrate_deployer;
GRANT EXECUTE ON PROCEDURE migrate.deploy(text), migrate.revert(text) TO regress_migrate_deployer;
GRANT SELECT ON migrate.revision, migrate.revision_head, migrate.applied,
                migrate.history, migrate.status, migrate.log TO regress_migrate_deployer;
GRANT CREATE ON SCHEMA public TO regress_migrate_deployer;

-- the auditor, exactly as in docs/roles.md
GRANT USAGE ON SCHEMA migrate TO regress_migrate_auditor;
GRANT SELECT ON migrate.revision, migrate.revision_head, migrate.applied,
                migrate.history, migrate.status, migrate.log TO regress_migrate_auditor;
GRANT SELECT ON SEQUENCE migrate.history_id_seq, migrate.operation_id_seq TO regress_migrate_auditor;
-- (1.1) the recorded schema model and the staged DDL, which pg_dump reads too
GRANT SELECT ON migrate.schema_object, migrate.schema_root, migrate.drift_event TO regress_migrate_auditor;
GRANT SELECT ON SEQUENCE migrate.drift_event_id_seq TO regress_migrate_auditor;
GRANT EXECUTE ON FUNCTION
    migrate.current(),
    migrate.heads(),
    migrate.revisions(text),
    migrate.show(text),
    migrate.plan(text, text),
    migrate.lint(text, boolean),
    migrate.lint_sql(text),
    migrate.script(text),
    migrate.upgrade_sql(text, text, boolean),
    migrate.downgrade_sql(text, text),
    migrate.verify(),
    migrate.check(),
    migrate.lock_key(),
    migrate.schema_model(text[]),
    migrate.schema_fingerprint(text[]),
    migrate.drift(),
    migrate.diff(text, text, text[], boolean)
  TO regress_migrate_auditor;

-- a registrant: adds revisions and runs its own
GRANT USAGE ON SCHEMA migrate TO regress_migrate_weak;
GRANT EXECUTE ON FUNCTION migrate.add(text, text, text, text[], text, text[], text[], boolean, text[]),
                          migrate.upgrade(text), migrate.downgrade(text) TO regress_migrate_weak;
GRANT CREATE ON SCHEMA public TO regress_migrate_weak;

-- the extension grants nothing to PUBLIC, on anything
SELECT count(*) AS public_grants
  FROM (SELECT proacl AS acl FROM pg_proc WHERE pronamespace = 'migrate'::regnamespace
        UNION ALL
        SELECT relacl FROM pg_class WHERE relnamespace = 'migrate'::regnamespace
        UNION ALL
        SELECT nspacl FROM pg_namespace WHERE nspname = 'migrate') o,
       aclexplode(o.acl) a
 WHERE a.grantee = 0;

-- The SQLSTATE of a call run as the current role; 'ok' if it succeeds.
-- Whatever the call did is rolled back.
CREATE FUNCTION pg_temp.sqlstate_of(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE call;
  RAISE SQLSTATE 'QA000';
EXCEPTION WHEN OTHERS THEN
  RETURN CASE SQLSTATE WHEN 'QA000' THEN 'ok' ELSE SQLSTATE END;
END $$;

-- every function and procedure, called with NULL arguments; every action
-- on every table, the view and the sequences; creating in schema migrate
CREATE TEMP TABLE checks (object text, action text, call text,
                          nobody text, usage text, deployer text, auditor text);
INSERT INTO checks (object, action, call)
SELECT format('%s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)),
       CASE p.prokind WHEN 'p' THEN 'call' ELSE 'execute' END,
       format('%s migrate.%I(%s)', CASE p.prokind WHEN 'p' THEN 'CALL' ELSE 'SELECT' END, p.proname,
              (SELECT string_agg(format('NULL::%s', t::regtype), ', ' ORDER BY n)
                 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, n)))
  FROM pg_proc p WHERE p.pronamespace = 'migrate'::regnamespace
UNION ALL
SELECT c.relname, a.action, format(a.call, 'migrate.' || quote_ident(c.relname),
       (SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = c.oid AND attnum = 1))
  FROM pg_class c,
       (VALUES ('r', 'select', 'SELECT * FROM %s'),
               ('r', 'insert', 'INSERT INTO %s DEFAULT VALUES'),
               ('r', 'update', 'UPDATE %s SET %2$s = %2$s'),
               ('r', 'delete', 'DELETE FROM %s'),
               ('r', 'truncate', 'TRUNCATE %s'),
               ('v', 'select', 'SELECT * FROM %s'),
               ('S', 'select', 'SELECT * FROM %s'),
               ('S', 'nextval', 'SELECT nextval(''%s'')'),
               ('S', 'setval', 'SELECT setval(''%s'', 1000)')) AS a(relkind, action, call)
 WHERE c.relnamespace = 'migrate'::regnamespace AND c.relkind = a.relkind::"char"
UNION ALL
SELECT 'schema migrate', 'create', 'CREATE TABLE migrate.revision_shadow (id text)';
GRANT SELECT, UPDATE ON checks TO PUBLIC;

SET ROLE regress_migrate_nobody;
UPDATE checks SET nobody = pg_temp.sqlstate_of(call);
SET ROLE regress_migrate_usage;
UPDATE checks SET usage = pg_temp.sqlstate_of(call);
SET ROLE regress_migrate_deployer;
UPDATE checks SET deployer = pg_temp.sqlstate_of(call);
SET ROLE regress_migrate_auditor;
UPDATE checks SET auditor = pg_temp.sqlstate_of(call);
RESET ROLE;

-- the matrix
SELECT object, action,
       CASE nobody WHEN '42501' THEN 'denied' ELSE 'allowed' END AS nobody,
       CASE usage WHEN '42501' THEN 'denied' ELSE 'allowed' END AS usage,
       CASE deployer WHEN '42501' THEN 'denied' ELSE 'allowed' END AS deployer,
       CASE auditor WHEN '42501' THEN 'denied' ELSE 'allowed' END AS auditor
  FROM checks ORDER BY action = 'call' OR action = 'execute' DESC, object COLLATE "C", action COLLATE "C";
-- nothing of all those calls remained
SELECT (SELECT count(*) FROM migrate.revision) AS revisions,
       (SELECT count(*) FROM migrate.history) AS history_rows,
       to_regclass('migrate.revision_shadow') AS shadow;

-- The deployer at work: adds and runs its own revisions, reads the catalogs.
SET ROLE regress_migrate_deployer;
SELECT migrate.add('dep1', 'CREATE TABLE t_dep1 (id int, who name DEFAULT current_user)', 'DROP TABLE t_dep1');
SELECT revision FROM migrate.upgrade('head');
SELECT revision FROM migrate.downgrade('base');
SELECT migrate.add('dep2', 'CREATE TABLE t_dep2 (id int); INSERT INTO t_dep1 (id) VALUES (1)', 'DROP TABLE t_dep2');
CALL migrate.deploy();
SELECT id, who FROM t_dep1;
SELECT * FROM migrate.current();
SELECT revision, effective_role, success FROM migrate.history WHERE operation <> 'add' ORDER BY id;
-- its revision SQL runs as itself: it cannot create a superuser ...
SELECT migrate.add('dep3', 'CREATE ROLE regress_migrate_evil SUPERUSER', 'DROP ROLE regress_migrate_evil');
SELECT revision FROM migrate.upgrade('head');
-- ... nor erase history from a revision; the attempt itself is recorded
SELECT migrate.add('dep3', 'DELETE FROM migrate.history', '');
CALL migrate.deploy();
SELECT revision, effective_role, success, sqlstate, error FROM migrate.history WHERE NOT success;
SELECT migrate.remove('dep3');
RESET ROLE;
SELECT count(*) AS evil_roles FROM pg_roles WHERE rolname = 'regress_migrate_evil';
SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname LIKE 't\_dep%' ORDER BY relname;
SELECT id, created_by FROM migrate.revision ORDER BY id COLLATE "C";

-- A superuser's revision can be run by the deployer (the registrant holds
-- every privilege of the caller); its SQL runs as the deployer
SET ROLE regress_migrate_admin;
SELECT migrate.add('adm1', 'CREATE TABLE t_admin (id int)', 'DROP TABLE t_admin');
SET ROLE regress_migrate_deployer;
SELECT revision FROM migrate.upgrade('head');
SELECT pg_get_userbyid(relowner) AS t_admin_owner FROM pg_class WHERE relname = 't_admin';
SELECT revision FROM migrate.downgrade('dep2');
RESET ROLE;

-- The weak registrant plants SQL for a superuser to run
SET ROLE regress_migrate_weak;
SELECT migrate.add('weak1', 'CREATE TABLE t_weak (id int)', 'DROP TABLE t_weak');
SELECT migrate.add('weak2', 'ALTER ROLE regress_migrate_weak SUPERUSER', '');
-- the superuser refuses to run it, before running anything
SET ROLE regress_migrate_admin;
SELECT revision FROM migrate.upgrade('head');
SELECT revision FROM migrate.upgrade('weak1');
-- so does the deployer: the weak role lacks its privileges too
SET ROLE regress_migrate_deployer;
SELECT revision FROM migrate.upgrade('weak1');
-- an offline script generated by the superuser holds the planted SQL, and
-- its first call, offline_begin(), must refuse (42501) before that SQL runs
SET ROLE regress_migrate_admin;
SELECT strpos(migrate.upgrade_sql('weak2'), 'ALTER ROLE regress_migrate_weak SUPERUSER') > 0 AS script_holds_it;
SELECT pg_temp.sqlstate_of($$SELECT migrate.offline_begin('upgrade', 'weak2', ARRAY['dep1', 'dep2'])$$) AS offline_begin;
-- registering the same content again is a no-op and does not change the registrant
SET ROLE regress_migrate_admin;
SELECT migrate.add('weak1', 'CREATE TABLE t_weak (id int)', 'DROP TABLE t_weak');
SELECT id, created_by FROM migrate.revision WHERE id LIKE 'weak%' ORDER BY id;
SELECT revision FROM migrate.upgrade('weak1');
-- the superuser reviews it, then runs it as the registrant: the SQL runs
-- with the registrant's privileges
SELECT up_sql FROM migrate.show('weak1');
SET ROLE regress_migrate_weak;
SELECT revision FROM migrate.upgrade('weak1');
SELECT revision FROM migrate.upgrade('weak2');
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_migrate_weak';
SELECT pg_get_userbyid(relowner) AS t_weak_owner FROM pg_class WHERE relname = 't_weak';
SELECT revision, session_role = session_user AS session_user,
       effective_role, operation, success
  FROM migrate.history WHERE revision LIKE 'weak%' AND operation <> 'add' ORDER BY id;
-- downgrading it is refused to the superuser as well
SET ROLE regress_migrate_admin;
SELECT migrate.remove('weak2');
SELECT revision FROM migrate.downgrade('adm1');
SET ROLE regress_migrate_weak;
SELECT revision FROM migrate.downgrade('adm1');
RESET ROLE;

-- SET ROLE must hold for the whole revision: a revision that resets the role
-- (or sets the session authorization, here from a DO block) would run the
-- rest as the session user, a superuser.  Both must fail with 42501; each
-- call is rolled back either way.
SET ROLE regress_migrate_weak;
-- (a plain RESET ROLE is refused at add already, so here it is dynamic)
SELECT pg_temp.sqlstate_of($$SELECT migrate.add('weak3', 'RESET ROLE; ALTER ROLE regress_migrate_weak SUPERUSER', '')$$) AS reset_role_at_add;
SELECT migrate.add('weak3', 'DO $do$BEGIN EXECUTE ''RESET ROLE''; END$do$; ALTER ROLE regress_migrate_weak SUPERUSER', '');
SELECT pg_temp.sqlstate_of($$SELECT migrate.upgrade('weak3')$$) AS reset_role;
SELECT current_user;
SELECT migrate.add('weak3', 'DO $do$BEGIN EXECUTE ''SET SESSION AUTHORIZATION DEFAULT''; END$do$; ALTER ROLE regress_migrate_weak SUPERUSER', '');
SELECT pg_temp.sqlstate_of($$SELECT migrate.upgrade('weak3')$$) AS session_authorization;
SELECT current_user;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_migrate_weak';
SELECT migrate.remove('weak3');

-- The auditor reads everything and changes nothing
SET ROLE regress_migrate_auditor;
SELECT current_heads, heads, pending, up_to_date, lock_holder_pid, last_deploy_by FROM migrate.status;
SELECT * FROM migrate.current();
SELECT revision, is_applied FROM migrate.revisions();
SELECT id, created_by, is_applied FROM migrate.show('adm1');
SELECT * FROM migrate.plan('downgrade', 'base');
SELECT * FROM migrate.verify();
SELECT migrate.check();
SELECT count(*) > 0 AS reads_history FROM migrate.history;
SELECT count(*) AS reads_applied FROM migrate.applied;
SELECT last_value > 0 AS reads_sequence FROM migrate.history_id_seq;
SELECT migrate.stamp('base');
SELECT revision FROM migrate.downgrade('base');
DELETE FROM migrate.history;
SELECT nextval('migrate.history_id_seq');
RESET ROLE;

-- after all of that, verify() finds nothing wrong
SELECT * FROM migrate.verify();

-- clean up: each role downgrades what it owns
SET ROLE regress_migrate_admin;
SELECT revision FROM migrate.downgrade('dep2');
SET ROLE regress_migrate_deployer;
SELECT revision FROM migrate.downgrade('base');
RESET ROLE;
SELECT count(*) AS tables_left FROM pg_class WHERE relname IN ('t_dep1', 't_dep2', 't_weak', 't_admin');
DROP TABLE checks;
DROP OWNED BY regress_migrate_nobody, regress_migrate_usage, regress_migrate_deployer,
              regress_migrate_auditor, regress_migrate_weak, regress_migrate_admin;
DROP ROLE regress_migrate_nobody, regress_migrate_usage, regress_migrate_deployer,
          regress_migrate_auditor, regress_migrate_weak, regress_migrate_admin;
