-- ALTER EXTENSION migrate UPDATE from the released 1.0 (contrib's
-- pg_stat_statements "oldextversions" test is the model).  A 1.0 database
-- gets revisions (branches, a merge, depends_on, labels) and history rows of
-- every 1.0 operation (add, replace, remove, upgrade, downgrade, stamp that
-- adds and removes, a failed deploy) from the current library; then
-- ALTER EXTENSION migrate UPDATE.  Afterwards: the version is the default
-- one, revisions, heads, applied and history are row for row what they were
-- (md5s of the ordered rows, in 1.0's columns), verify() is empty, the hash
-- chain continues from the old tip, and every function of the extension
-- works (each is called once; the extension's functions are listed from
-- pg_depend and must equal the list tested here, so a function added later
-- without a test here fails).  Last, the updated install and a fresh
-- install of the default version have the same objects, columns,
-- constraints, indexes, function signatures, privileges and comments, and
-- the fresh install is left for the tests that follow.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate VERSION '1.0';
RESET client_min_messages;
\set VERBOSITY default
SELECT extversion FROM pg_extension WHERE extname = 'migrate';

-- The state in 1.0's columns, one md5 per table; plain SQL functions, so
-- that nothing here depends on the extension when it is dropped.
CREATE FUNCTION pg_temp.state() RETURNS TABLE (what text, rows bigint, md5 text)
LANGUAGE sql AS $$
  SELECT 'revision', count(*), md5(coalesce(string_agg(
           row(t.id, t.parents, t.depends_on, t.branch_labels, t.message, t.up_sql,
               t.down_sql, t.checksum, t.created_at, t.created_by)::text,
           '|' ORDER BY t.id COLLATE "C"), ''))
    FROM migrate.revision t
  UNION ALL
  SELECT 'revision_head', count(*), md5(coalesce(string_agg(t.revision, '|' ORDER BY t.revision COLLATE "C"), ''))
    FROM migrate.revision_head t
  UNION ALL
  SELECT 'applied', count(*), md5(coalesce(string_agg(
           row(t.revision, t.applied_at, t.applied_by, t.checksum)::text,
           '|' ORDER BY t.revision COLLATE "C"), ''))
    FROM migrate.applied t
  UNION ALL
  SELECT 'history', count(*), md5(coalesce(string_agg(
           row(t.id, t.operation_id, t.operation, t.revision, t.target, t.success, t.sqlstate,
               t.error, t.started_at, t.duration, t.session_role, t.effective_role,
               t.application_name, t.client_addr, t.backend_pid, t.txid, t.checksum,
               t.prev_hash, t.hash)::text,
           '|' ORDER BY t.id), ''))
    FROM migrate.history t
  UNION ALL
  SELECT 'sequences', 2, md5(format('%s|%s',
           (SELECT row(s.last_value, s.is_called) FROM migrate.history_id_seq s),
           (SELECT row(s.last_value, s.is_called) FROM migrate.operation_id_seq s)))
$$;
-- verify()'s rows, with hashes, row ids and times masked
CREATE FUNCTION pg_temp.problems() RETURNS TABLE (problem text, revision text, detail text)
LANGUAGE sql AS $$
  SELECT v.problem, v.revision,
         regexp_replace(regexp_replace(v.detail, '[0-9a-f]{64}', '<sha256>', 'g'),
                        '(row) [0-9]+', '\1 <id>', 'g')
    FROM migrate.verify() v
$$;

-- 1.0: a root u1 with branch alpha, a second root (branch beta) that
-- depends on u1, their merge, a marker replaced, a revision added and
-- removed, a message changed on an applied revision (a replace row),
-- upgrade, downgrade, stamps that add and remove, and a deploy that fails
SELECT migrate.add('u1', 'CREATE TABLE t_u1 (id int)', 'DROP TABLE t_u1', message => 'root');
SELECT migrate.add('u2a', 'CREATE TABLE t_u2a (id int)', 'DROP TABLE t_u2a', parents => '{u1}',
                   message => 'alpha', branch_labels => '{alpha}');
SELECT migrate.add('u2b', 'CREATE TABLE t_u2b (id int)', 'DROP TABLE t_u2b', parents => '{}',
                   message => 'beta', depends_on => '{u1}', branch_labels => '{beta}');
SELECT migrate.merge(message => 'join', id => 'u3');
SELECT migrate.add('u4', '', '', message => 'marker');
SELECT migrate.add('u4', 'SELECT 1', '', message => 'marker');
SELECT migrate.add('u5', '', '');
SELECT migrate.remove('u5');
SELECT revision FROM migrate.upgrade('heads');
SELECT migrate.add('u1', 'CREATE TABLE t_u1 (id int)', 'DROP TABLE t_u1', message => 'the root');
SELECT revision FROM migrate.downgrade('-1');
SELECT migrate.stamp('u4');
SELECT migrate.stamp('u3');
SELECT migrate.stamp('u4');
SELECT migrate.add('u6', 'SELECT 1/0', '', message => 'fails');
CALL migrate.deploy();
SELECT operation, checksum IS NOT NULL AS has_checksum, success, count(*)
  FROM migrate.history GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- the current library serves a 1.0 database: verify() is empty there
SELECT * FROM pg_temp.problems();

-- a deployer role's grants on the functions that 1.1 creates again
CREATE ROLE regress_update_deployer;
GRANT USAGE ON SCHEMA migrate TO regress_update_deployer;
GRANT EXECUTE ON FUNCTION migrate.add(text, text, text, text[], text, text[], text[]),
                          migrate.revisions(text), migrate.show(text), migrate.upgrade_sql(text, text)
   TO regress_update_deployer;
-- 1.0's upgrade_sql(target, start) with the 1.1 library: no registration
SELECT strpos(migrate.upgrade_sql('heads', 'base'), 'migrate.add(') = 0 AS no_registration;

-- what must survive the update
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.state();
SELECT id AS tip_id, hash AS tip_hash FROM migrate.history ORDER BY id DESC LIMIT 1 \gset
SELECT what, rows FROM before ORDER BY what;

ALTER EXTENSION migrate UPDATE;
SELECT extversion, extversion = (SELECT default_version FROM pg_available_extensions
                                  WHERE name = 'migrate') AS is_default
  FROM pg_extension WHERE extname = 'migrate';

-- every row is the same, 1.0's rows have no detail, and verify() is empty
SELECT b.what, b.rows, a.rows = b.rows AS same_count, a.md5 = b.md5 AS same_rows
  FROM before b JOIN pg_temp.state() a USING (what) ORDER BY b.what;
SELECT count(*) AS rows_with_detail FROM migrate.history WHERE detail IS NOT NULL;
SELECT * FROM pg_temp.problems();
-- 1.1's add(), revisions(), show() and upgrade_sql() have new columns or
-- arguments; the grants on 1.0's carried over
SELECT p.oid::regprocedure AS function,
       has_function_privilege('regress_update_deployer', p.oid, 'EXECUTE') AS deployer_may
  FROM pg_proc p WHERE p.pronamespace = 'migrate'::regnamespace
   AND p.proname IN ('add', 'revisions', 'show', 'upgrade_sql') ORDER BY 1::text;
SELECT count(*) AS transactional FROM migrate.revision WHERE transactional;
REVOKE ALL ON FUNCTION migrate.add(text, text, text, text[], text, text[], text[], boolean, text[]),
                       migrate.revisions(text), migrate.show(text),
                       migrate.upgrade_sql(text, text, boolean)
  FROM regress_update_deployer;
REVOKE USAGE ON SCHEMA migrate FROM regress_update_deployer;
DROP ROLE regress_update_deployer;

-- the chain continues: a new add links to the old tip and records detail
SELECT migrate.add('u7', 'SELECT 7', 'SELECT -7', parents => '{u4}',
                   message => 'after the update', branch_labels => '{gamma}');
SELECT id > :tip_id AS after_tip, prev_hash = :'tip_hash' AS links_to_tip, operation, revision,
       detail - 'created_by' AS detail, detail ->> 'created_by' = current_user AS created_by_me
  FROM migrate.history WHERE id = (SELECT min(id) FROM migrate.history WHERE id > :tip_id);
SELECT * FROM pg_temp.problems();

-- the extension's functions are exactly the ones called below (a new one
-- shows up here until it is called and listed)
CREATE TEMP TABLE tested (name text, kind "char");
INSERT INTO tested
SELECT f, CASE WHEN f IN ('deploy', 'revert') THEN 'p' ELSE 'f' END
  FROM unnest('{add,add_dir,add_script,adopt_alembic,adopt_flyway,approve,check,current,deploy,downgrade,downgrade_sql,heads,lint,lint_sql,lock_key,merge,offline_begin,offline_step,plan,remove,repair,revert,revisions,script,show,stamp,upgrade,upgrade_sql,verify,schema_model,schema_fingerprint,drift,drift_count,accept_drift,record_ddl,diff,autogenerate}'::text[]) AS f;
SELECT coalesce(e.name, t.name) AS function, e.kind AS prokind, t.name IS NOT NULL AS tested
  FROM (SELECT p.proname::text AS name, p.prokind AS kind
          FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
         WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
           AND d.refclassid = 'pg_extension'::regclass
           AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migrate')) e
  FULL JOIN tested t ON t.name = e.name AND t.kind = e.kind
 WHERE e.name IS NULL OR t.name IS NULL
 ORDER BY 1;
SELECT count(*) AS functions, (SELECT count(*) FROM tested) AS tested
  FROM pg_depend d
 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
   AND d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migrate');

-- each of them, once (add and verify above)
SELECT migrate.lock_key();
SELECT migrate.add_script(E'-- migrate:revision u8\n-- migrate:parents u7\n-- migrate:message from a file\n-- migrate:up\nSELECT 8;\n-- migrate:down\nSELECT -8;\n');
SELECT migrate.script('u8');
SELECT migrate.remove('u8');
-- the data directory holds no migration files
SELECT count(*) AS added FROM migrate.add_dir(current_setting('data_directory'));
SELECT migrate.add('u6', 'SELECT 6', '', message => 'fixed');
-- approve (1.1) writes an approve row with the revision's checksum
SELECT migrate.approve('u6', checksum) = checksum AS approved FROM migrate.revision WHERE id = 'u6';
SELECT migrate.merge(message => 'join again', id => 'u9');
SELECT * FROM migrate.heads();
SELECT * FROM migrate.current();
SELECT revision, parents, message, branch_labels, depends_on, is_applied, is_head, is_current,
       is_transactional
  FROM migrate.revisions();
SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql,
       created_by = current_user AS by_me, children, is_applied, transactional
  FROM migrate.show('gamma');
SELECT * FROM migrate.plan('upgrade', 'heads');
-- lint (1.1): a revision's findings, and SQL's; u7's table is not there yet
SELECT count(*) AS findings FROM migrate.lint('u7');
SELECT rule, severity FROM migrate.lint_sql('DROP TABLE t_u1');
SELECT revision FROM migrate.upgrade('u7');
CALL migrate.deploy('heads');
SELECT migrate.check();
SELECT strpos(migrate.upgrade_sql('heads', register => true),
              'CREATE EXTENSION IF NOT EXISTS migrate VERSION ''1.1''') > 0 AS self_contained;
SELECT length(migrate.upgrade_sql('heads', start => 'u4')) > 0 AS upgrade_sql,
       length(migrate.downgrade_sql('u4')) > 0 AS downgrade_sql;
-- what an offline script does (its SQL only selects), in one transaction:
-- offline_begin() with the applied set, then offline_step() per revision
CREATE FUNCTION pg_temp.offline(operation text, target text, steps text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  step text;
BEGIN
  PERFORM migrate.offline_begin(operation, target,
          ARRAY(SELECT a.revision FROM migrate.applied a ORDER BY a.revision COLLATE "C"));
  FOREACH step IN ARRAY steps LOOP
    PERFORM migrate.offline_step(step, (SELECT r.checksum FROM migrate.revision r WHERE r.id = step));
  END LOOP;
END $$;
SELECT pg_temp.offline('downgrade', 'u4', '{u9,u7,u6}');
SELECT pg_temp.offline('upgrade', 'heads', '{u6,u7,u9}');
SELECT migrate.check();
SELECT revision FROM migrate.downgrade('u4');
SELECT migrate.stamp('u9');
-- repair (1.1): u7's down SQL replaced, not run; a repair row
SELECT migrate.repair('u7', 'SELECT 7', 'SELECT -7 AS repaired') IS NOT NULL AS repaired;
CALL migrate.revert('u7');
SELECT * FROM migrate.current();
SELECT migrate.stamp('u7');
SELECT operation, revision, success, checksum IS NOT NULL AS has_checksum,
       detail - 'created_by' - 'old_checksum' - 'new_checksum' AS detail,
       detail ->> 'created_by' = current_user AS created_by_me
  FROM migrate.history WHERE id > :tip_id ORDER BY id;
SELECT * FROM pg_temp.problems();
SELECT revision FROM migrate.downgrade('base');
SELECT count(*) AS tables_left FROM pg_class WHERE relname LIKE 't\_u%';
SELECT * FROM pg_temp.problems();
-- adopt_alembic and adopt_flyway (1.1), with nothing applied: the tools'
-- tables as they create them, empty, adopt nothing
CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
SELECT migrate.adopt_alembic();
CREATE TABLE flyway_schema_history (
    installed_rank int NOT NULL PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
    type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int,
    installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
    execution_time int NOT NULL, success boolean NOT NULL);
SELECT migrate.adopt_flyway();
DROP TABLE alembic_version, flyway_schema_history;

-- The objects of the extension: members, columns, constraints, indexes,
-- functions, privileges, comments, config tables and the view's query.
CREATE FUNCTION pg_temp.objects() RETURNS TABLE (kind text, object text, definition text)
LANGUAGE sql AS $$
  WITH ext AS (SELECT e.oid, e.extconfig FROM pg_extension e WHERE e.extname = 'migrate'),
  nsp AS (SELECT n.oid FROM pg_namespace n WHERE n.nspname = 'migrate'),
  member AS (SELECT d.classid, d.objid FROM pg_depend d, ext
              WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid
                AND d.deptype = 'e')
  SELECT 'member', pg_describe_object(m.classid, m.objid, 0), NULL FROM member m
  UNION ALL
  SELECT 'column', format('%s.%s', c.relname, a.attname),
         format('%s %s%s default %s', a.attnum, format_type(a.atttypid, a.atttypmod),
                CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                pg_get_expr(ad.adbin, ad.adrelid))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
   WHERE c.relnamespace = (SELECT oid FROM nsp)
  UNION ALL
  SELECT 'constraint', format('%s.%s', c.relname, k.conname), pg_get_constraintdef(k.oid)
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
   WHERE k.connamespace = (SELECT oid FROM nsp)
  UNION ALL
  SELECT 'index', c.relname, pg_get_indexdef(c.oid)
    FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM nsp) AND c.relkind = 'i'
  UNION ALL
  SELECT 'relation', c.relname, format('%s %s owner %s', c.relkind, c.relacl,
                                        pg_get_userbyid(c.relowner))
    FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM nsp)
  UNION ALL
  SELECT 'function', format('%s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)),
         format('%s returns %s, kind %s, %s, strict %s, secdef %s, %s %s, acl %s, args %s',
                p.prolang::regproc, pg_get_function_result(p.oid), p.prokind, p.provolatile,
                p.proisstrict, p.prosecdef, p.probin, p.prosrc, p.proacl,
                pg_get_function_arguments(p.oid))
    FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM nsp)
  UNION ALL
  SELECT 'comment', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
    FROM pg_description d JOIN member m ON m.classid = d.classoid AND m.objid = d.objoid
  UNION ALL
  SELECT 'config', c::regclass::text, NULL FROM ext, unnest(ext.extconfig) AS c
  UNION ALL
  SELECT 'view', c.relname, pg_get_viewdef(c.oid)
    FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM nsp) AND c.relkind = 'v'
$$;
CREATE TEMP TABLE updated_objects AS SELECT * FROM pg_temp.objects();
SELECT kind, count(*) FROM updated_objects GROUP BY kind ORDER BY kind;
-- a fresh install of the default version, left for the tests that follow
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
SELECT extversion FROM pg_extension WHERE extname = 'migrate';
CREATE TEMP TABLE fresh_objects AS SELECT * FROM pg_temp.objects();
-- nothing only in one of them
(SELECT 'only updated' AS side, * FROM updated_objects EXCEPT SELECT 'only updated', * FROM fresh_objects)
UNION ALL
(SELECT 'only fresh', * FROM fresh_objects EXCEPT SELECT 'only fresh', * FROM updated_objects)
ORDER BY 1, 2, 3;
SELECT count(*) AS revisions FROM migrate.revision;
SELECT count(*) AS history FROM migrate.history;

-- log (issue 16): the view migrate.log of 1.1 shows the calls 1.0 recorded,
-- and an auditor granted SELECT on it reads it without reading history
DROP EXTENSION migrate;
CREATE EXTENSION migrate VERSION '1.0';
SELECT migrate.add('g1', 'SELECT 1', 'SELECT -1', message => 'one');
SELECT revision FROM migrate.upgrade('head');
SELECT migrate.stamp('base');
ALTER EXTENSION migrate UPDATE;
SELECT regexp_replace(who, '^' || session_user || '$', 'session_user') AS who, operation, target,
       revisions, success, error, duration >= '0' AS timed
  FROM migrate.log;
CREATE ROLE regress_update_auditor;
GRANT USAGE ON SCHEMA migrate TO regress_update_auditor;
GRANT SELECT ON migrate.log TO regress_update_auditor;
SET ROLE regress_update_auditor;
SELECT count(*) AS calls FROM migrate.log;
RESET ROLE;
REVOKE ALL ON migrate.log FROM regress_update_auditor;
REVOKE USAGE ON SCHEMA migrate FROM regress_update_auditor;
DROP ROLE regress_update_auditor;
-- lintplan: plan() gains the column findings (1.1 creates it again): a
-- grant on 1.0's plan() carries over, and each step shows the lint findings
-- of the SQL it runs (a downgrade step its down SQL; NULL for a stamp
-- step, which runs none), less the rules the revision ignores.
SET client_min_messages = warning;
DROP EXTENSION migrate;
CREATE EXTENSION migrate VERSION '1.0';
RESET client_min_messages;
CREATE ROLE regress_update_planner;
GRANT USAGE ON SCHEMA migrate TO regress_update_planner;
GRANT EXECUTE ON FUNCTION migrate.plan(text, text) TO regress_update_planner;
CREATE TABLE t_plan (id int);
SELECT migrate.add('p1', 'CREATE INDEX t_plan_id ON t_plan (id)', 'DROP TABLE t_plan');
-- 1.0's plan() with the 1.1 library: four columns
SELECT * FROM migrate.plan('upgrade', 'head');
ALTER EXTENSION migrate UPDATE;
SELECT has_function_privilege('regress_update_planner', 'migrate.plan(text, text)', 'EXECUTE')
       AS planner_may;
SELECT migrate.add('p2', E'ALTER TABLE t_plan RENAME id TO key;\nVACUUM FULL t_plan',
                   'SELECT 1', lint_ignore => '{"renaming-column: nothing reads it yet"}');
SET ROLE regress_update_planner;
SELECT step, revision, operation, findings IS NULL AS no_findings, f.finding
  FROM migrate.plan('upgrade', 'head') LEFT JOIN LATERAL unnest(findings) f(finding) ON true
 ORDER BY step, f.finding;
SELECT * FROM migrate.plan('stamp', 'p1');
RESET ROLE;
SELECT migrate.stamp('p1');
SET ROLE regress_update_planner;
SELECT step, revision, operation, unnest(findings) AS finding
  FROM migrate.plan('downgrade', 'base');
RESET ROLE;
REVOKE ALL ON FUNCTION migrate.plan(text, text) FROM regress_update_planner;
REVOKE USAGE ON SCHEMA migrate FROM regress_update_planner;
DROP ROLE regress_update_planner;
DROP TABLE t_plan;
-- a fresh install again, for the tests that follow
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
-- drift: a 1.0 database with an applied revision and an auditor who reads
-- the status view; after the update the first call records the live
-- schema model as the baseline, drift() and accept_drift() work, the event
-- triggers record DDL, and the auditor still reads status (drift column).
SET client_min_messages = warning;
DROP EXTENSION migrate;
CREATE EXTENSION migrate VERSION '1.0';
RESET client_min_messages;
CREATE SCHEMA update_drift;
SELECT migrate.add('ud1', 'CREATE TABLE update_drift.t (id int)', 'DROP TABLE update_drift.t');
SELECT revision FROM migrate.upgrade('head');
CREATE ROLE regress_update_auditor;
GRANT USAGE ON SCHEMA migrate TO regress_update_auditor;
GRANT SELECT ON migrate.status TO regress_update_auditor;
ALTER EXTENSION migrate UPDATE;
SET migrate.track_drift = on;
SET migrate.drift_schemas = 'update_drift';
SELECT kind, identity FROM migrate.schema_model() ORDER BY 1, 2;
SELECT length(migrate.schema_fingerprint()) AS fingerprint_length;
-- no model recorded yet
SELECT * FROM migrate.drift();
SET ROLE regress_update_auditor;
SELECT up_to_date, drift FROM migrate.status;
RESET ROLE;
-- the first call that runs revisions records the baseline
SELECT migrate.add('ud2', 'ALTER TABLE update_drift.t ADD b int', 'ALTER TABLE update_drift.t DROP b');
SELECT revision FROM migrate.upgrade('head');
SELECT revision, detail->'drift_baseline' AS baseline,
       detail->>'schema_fingerprint' = migrate.schema_fingerprint() AS fingerprint
  FROM migrate.history WHERE operation = 'upgrade' ORDER BY id DESC LIMIT 1;
SELECT migrate.drift_count();
-- DDL outside migrate: staged, then found by the fingerprint
CREATE TABLE update_drift.hotfix (a int);
SELECT event, command_tag, objects FROM migrate.drift_event;
SELECT kind, identity, change FROM migrate.drift();
SELECT migrate.accept_drift('after the update');
SELECT operation, detail->'count' AS count FROM migrate.history ORDER BY id DESC LIMIT 1;
SELECT * FROM migrate.drift();
SELECT * FROM pg_temp.problems();
RESET migrate.track_drift;
RESET migrate.drift_schemas;
REVOKE ALL ON migrate.status FROM regress_update_auditor;
REVOKE USAGE ON SCHEMA migrate FROM regress_update_auditor;
DROP ROLE regress_update_auditor;
DROP SCHEMA update_drift CASCADE;
-- a fresh install of the default version, left for the tests that follow
SET client_min_messages = warning;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
RESET client_min_messages;
-- diff: a 1.0 database updated; an auditor granted diff() reads the
-- difference between two schemas, and autogenerate() registers it as a
-- revision after the single head, which then applies.
SET client_min_messages = warning;
DROP EXTENSION migrate;
CREATE EXTENSION migrate VERSION '1.0';
RESET client_min_messages;
SELECT migrate.add('ug1', 'SELECT 1', 'SELECT -1');
ALTER EXTENSION migrate UPDATE;
CREATE SCHEMA update_have;
CREATE SCHEMA update_want;
CREATE TABLE update_want.t (id integer PRIMARY KEY, note text);
CREATE ROLE regress_update_differ;
GRANT USAGE ON SCHEMA migrate TO regress_update_differ;
GRANT EXECUTE ON FUNCTION migrate.diff(text, text, text[], boolean) TO regress_update_differ;
SET ROLE regress_update_differ;
SELECT * FROM migrate.diff('update_have', 'update_want');
RESET ROLE;
SELECT migrate.autogenerate('ug2', 'table t', 'update_have', 'update_want');
SELECT id, parents, message, up_sql, down_sql FROM migrate.show('ug2');
SELECT revision FROM migrate.upgrade('head');
SELECT count(*) AS differences FROM migrate.diff('update_have', 'update_want');
SELECT * FROM pg_temp.problems();
REVOKE ALL ON FUNCTION migrate.diff(text, text, text[], boolean) FROM regress_update_differ;
REVOKE USAGE ON SCHEMA migrate FROM regress_update_differ;
DROP ROLE regress_update_differ;
DROP SCHEMA update_have CASCADE;
DROP SCHEMA update_want CASCADE;
-- a fresh install of the default version, left for the tests that follow
SET client_min_messages = warning;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
RESET client_min_messages;
