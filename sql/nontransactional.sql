-- Non-transactional revisions (1.1): a statement that cannot run in a
-- transaction block makes a revision non-transactional, detected at add, or
-- the revision is marked so (add's transactional => false, a file's
-- "-- migrate:transactional false").  CALL migrate.deploy() and CALL
-- migrate.revert() run such a revision statement by statement, each in a
-- transaction of its own, those that must run at top level in a background
-- worker; upgrade() and downgrade() refuse it before running anything.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;
CREATE TABLE nt_t (id int, v text);
INSERT INTO nt_t SELECT g, 'v' || g FROM generate_series(1, 1000) g;
CREATE TYPE nt_mood AS ENUM ('sad');

-- detection: up or down SQL holding such a statement
SELECT migrate.add('nt1', 'CREATE TABLE nt_a (id int)', 'DROP TABLE nt_a', parents => '{}');
SELECT migrate.add('nt2', E'CREATE INDEX CONCURRENTLY nt_t_id ON nt_t (id);\nVACUUM (ANALYZE) nt_t;',
                   'DROP INDEX CONCURRENTLY nt_t_id', message => 'index concurrently');
SELECT migrate.add('nt3', 'CREATE INDEX nt_t_v ON nt_t (v)', 'DROP INDEX CONCURRENTLY nt_t_v');
-- marked: ALTER TYPE ... ADD VALUE may run in a transaction, but the new
-- value cannot be used until it commits
SELECT migrate.add('nt4', E'ALTER TYPE nt_mood ADD VALUE \'happy\';\nCREATE TABLE nt_m (m nt_mood DEFAULT \'happy\');',
                   'DROP TABLE nt_m', transactional => false);
SELECT migrate.add('nt5', 'CREATE TABLE nt_b (id int)', 'DROP TABLE nt_b');
SELECT revision, is_transactional FROM migrate.revisions() ORDER BY revision;
SELECT id, transactional FROM migrate.show('nt2');
SELECT pending_nontransactional, step_holder_pid FROM migrate.status;

-- the mark is part of the checksum (only when false: every transactional
-- revision keeps the checksum it had in 1.0)
SELECT migrate.add('nt_x', 'SELECT 1', parents => '{}');
SELECT checksum AS transactional_checksum FROM migrate.revision WHERE id = 'nt_x' \gset
SELECT migrate.add('nt_x', 'SELECT 1', parents => '{}', transactional => false);
SELECT checksum <> :'transactional_checksum' AS checksum_changed, transactional
  FROM migrate.revision WHERE id = 'nt_x';
SELECT operation FROM migrate.history WHERE revision = 'nt_x' ORDER BY id;
SELECT migrate.remove('nt_x');

-- Invalid input: the mark contradicts the SQL, or a SET would not reach the
-- statements after it; nothing is registered
SELECT migrate.add('nt_bad', 'VACUUM nt_t', parents => '{nt5}', transactional => true);
SELECT migrate.add('nt_bad', E'SET maintenance_work_mem = \'1GB\';\nCREATE INDEX CONCURRENTLY nt_i ON nt_t (v);', parents => '{nt5}');
SELECT migrate.add('nt_bad', E'SELECT 1;\nRESET work_mem;', parents => '{nt5}', transactional => false);
SELECT migrate.add('nt_bad', 'COMMIT', parents => '{nt5}', transactional => false);
SELECT count(*) FROM migrate.revision WHERE id = 'nt_bad';

-- files carry the mark both ways; add_script(script(r)) is a no-op
SELECT migrate.script('nt4');
SELECT migrate.script('nt2');
SELECT count(*) AS history_before FROM migrate.history \gset
SELECT migrate.add_script(migrate.script('nt2')), migrate.add_script(migrate.script('nt4'));
SELECT count(*) - :history_before AS new_rows FROM migrate.history;
SELECT migrate.add_script(E'-- migrate:revision nt6\n-- migrate:parents nt5\n-- migrate:transactional false\n-- migrate:up\nSELECT 6;\n-- migrate:down\nSELECT -6;\n');
SELECT id, transactional FROM migrate.show('nt6');
-- Invalid input: a mark that is not true or false
SELECT migrate.add_script(E'-- migrate:revision nt7\n-- migrate:transactional no\n-- migrate:up\nSELECT 7;\n');

-- upgrade() and downgrade() refuse a plan holding one, before running anything
SELECT revision FROM migrate.upgrade('nt1');
SELECT revision FROM migrate.upgrade('head');
SELECT migrate.current();
SELECT * FROM migrate.plan('upgrade', 'head');

-- deploy runs it: each statement in a transaction of its own, the top-level
-- ones in a background worker, then the revision is recorded applied
CALL migrate.deploy('nt4');
SELECT * FROM migrate.current();
SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'nt_t'::regclass ORDER BY 1;
SELECT enum_range(NULL::nt_mood);
SELECT revision, operation, success, detail FROM migrate.history
 WHERE revision LIKE 'nt_' AND operation IN ('upgrade', 'downgrade') ORDER BY id;
SELECT * FROM migrate.verify();
-- the rest: nt5 (transactional) and nt6 (marked, plain statements)
CALL migrate.deploy();
SELECT migrate.check();

-- downgrade() refuses; revert runs them, newest first
SELECT revision FROM migrate.downgrade('nt3');
SELECT revision FROM migrate.downgrade('nt5');
CALL migrate.revert('nt1');
SELECT * FROM migrate.current();
SELECT count(*) AS indexes_left FROM pg_index WHERE indrelid = 'nt_t'::regclass;
SELECT to_regclass('nt_m') AS nt_m;
SELECT revision, operation, success FROM migrate.history
 WHERE operation = 'downgrade' ORDER BY id;
CALL migrate.revert('base');
SELECT * FROM migrate.current();
CALL migrate.revert('base');

-- A statement that fails in the worker: its error, with SQLSTATE, detail and
-- the revision's context; the failure is recorded; the statements before it
-- stay committed, and the next deploy resumes after them
INSERT INTO nt_t VALUES (1, 'duplicate');
SELECT migrate.add('nt8', E'CREATE INDEX CONCURRENTLY nt_t_v8 ON nt_t (v);\nCREATE UNIQUE INDEX CONCURRENTLY nt_t_id_u ON nt_t (id);',
                   E'DROP INDEX CONCURRENTLY nt_t_id_u;\nDROP INDEX CONCURRENTLY nt_t_v8;', parents => '{nt1}');
-- (the worker's context line names its pid: test/t/050_nontransactional.pl
-- checks it)
\set SHOW_CONTEXT never
CALL migrate.deploy('nt8');
SELECT revision, success, sqlstate, error, detail FROM migrate.history
 WHERE revision = 'nt8' ORDER BY id DESC LIMIT 1;
-- the failed build left an invalid index; the first statement's index is valid
SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'nt_t'::regclass ORDER BY 1;
SELECT * FROM migrate.current();
-- the data fixed, the next deploy drops the invalid index and builds it again
DELETE FROM nt_t WHERE v = 'duplicate';
CALL migrate.deploy('nt8');
SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'nt_t'::regclass ORDER BY 1;
SELECT revision, success, sqlstate, detail FROM migrate.history
 WHERE revision = 'nt8' ORDER BY id;
SELECT * FROM migrate.verify();

-- the worker runs as the caller: a role that does not own the table cannot
-- build an index on it, and the error is the worker's
CREATE ROLE regress_nt_weak;
GRANT USAGE ON SCHEMA migrate TO regress_nt_weak;
GRANT EXECUTE ON PROCEDURE migrate.deploy(text) TO regress_nt_weak;
GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO regress_nt_weak;
SELECT migrate.add('nt9', 'CREATE INDEX CONCURRENTLY nt_t_v9 ON nt_t (v)', parents => '{nt8}');
SET ROLE regress_nt_weak;
CALL migrate.deploy('nt9');
RESET ROLE;
\set SHOW_CONTEXT errors
SELECT revision, success, sqlstate, effective_role FROM migrate.history
 WHERE revision = 'nt9' AND operation = 'upgrade';
SELECT migrate.remove('nt9');

-- the worker refuses migrate's own functions, as a revision's SQL does: an
-- index expression calling migrate.add() fails there, and nothing is added
CREATE FUNCTION nt_sneaky(i int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
	PERFORM migrate.add('nt_planted', 'SELECT 1', parents => '{}');
	RETURN i;
END $$;
SELECT migrate.add('nt10', 'CREATE INDEX CONCURRENTLY nt_t_sneaky ON nt_t (nt_sneaky(id))',
                   parents => '{nt8}');
\set SHOW_CONTEXT never
CALL migrate.deploy('nt10');
\set SHOW_CONTEXT errors
SELECT count(*) AS planted FROM migrate.revision WHERE id = 'nt_planted';
SELECT revision, success, sqlstate FROM migrate.history WHERE revision = 'nt10' AND operation = 'upgrade';
DROP INDEX nt_t_sneaky;
SELECT migrate.remove('nt10');
DROP FUNCTION nt_sneaky(int);

-- deploy and revert refuse a transaction block (25001)
BEGIN;
CALL migrate.revert('base');
ROLLBACK;

-- offline SQL: the revision's statements outside any transaction, under the
-- step lock, with its bookkeeping after them; each part guarded by \if
SELECT migrate.upgrade_sql('nt4', start => 'nt1');
SELECT migrate.downgrade_sql('nt1', start => 'nt4');

REVOKE ALL ON ALL TABLES IN SCHEMA migrate FROM regress_nt_weak;
REVOKE ALL ON PROCEDURE migrate.deploy(text) FROM regress_nt_weak;
REVOKE USAGE ON SCHEMA migrate FROM regress_nt_weak;
DROP ROLE regress_nt_weak;
CALL migrate.revert('base');
DROP TABLE nt_t;
DROP TYPE nt_mood;
