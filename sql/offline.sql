SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- Offline SQL (Alembic --sql): upgrade_sql() and downgrade_sql() write one
-- psql script, planned from the live state or from another start, and change
-- nothing themselves.  The script's own calls, migrate.offline_begin() and
-- migrate.offline_step(), are tested here directly: each refuses a database
-- or a step that is not what the script was planned for.  Running whole
-- scripts with psql against other databases is test/t/031_offline.pl.
\set VERBOSITY default
-- the state: applied set, history rows, and the tables that exist
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied,
       (SELECT count(*) FROM migrate.history) AS history,
       ARRAY(SELECT relname::text FROM pg_class
             WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY relname) AS tables;

-- a small graph: r1 <- r2 <- r3, b1 a second root that r3 depends on, and
-- r4 (no SQL) merging r3 and b1: the single head
SELECT migrate.add('r1', 'CREATE TABLE t_r1 (id int)', 'DROP TABLE t_r1', message => 'first');
SELECT migrate.add('r2', E'ALTER TABLE t_r1 ADD v text; -- ends in a comment', 'ALTER TABLE t_r1 DROP v');
SELECT migrate.add('b1', 'CREATE TABLE t_b1 (id int)', 'DROP TABLE t_b1', parents => '{}', message => 'other root');
SELECT migrate.add('r3', E'INSERT INTO t_r1 VALUES (1, ''it''''s'');\nINSERT INTO t_b1 VALUES (1);\n',
                   E'DELETE FROM t_b1;\nDELETE FROM t_r1;', parents => '{r2}', depends_on => '{b1}', message => 'data, it''s');
SELECT migrate.add('r4', '', '', parents => '{r3,b1}', message => 'marker');
SELECT migrate.heads();
-- the checksums the scripts carry
SELECT id, checksum FROM migrate.revision ORDER BY id COLLATE "C";
SELECT * FROM state;

\pset format unaligned
\pset tuples_only on
-- upgrade_sql(): from the live state (nothing applied) to head
SELECT migrate.upgrade_sql();
-- from another start: as if r1 were applied
SELECT migrate.upgrade_sql('head', start => 'r1');
-- to one revision, and with a relative target from the start
SELECT migrate.upgrade_sql('r2', start => 'base');
SELECT migrate.upgrade_sql('+1', start => 'r2');
\pset tuples_only off
\pset format aligned
-- generating changed nothing
SELECT * FROM state;
SELECT count(*) AS locks FROM pg_locks WHERE locktype = 'advisory';

-- the database at r2
SELECT revision FROM migrate.upgrade('r2');
SELECT * FROM state;
\pset format unaligned
\pset tuples_only on
-- the rest of the way from current: the start set is {r1, r2}
SELECT migrate.upgrade_sql();
-- nothing to do: a script of no steps that still checks the start
SELECT migrate.upgrade_sql('r2');
SELECT migrate.upgrade_sql('r1');
-- downgrade_sql(): to base and one step back, from current
SELECT migrate.downgrade_sql('base');
SELECT migrate.downgrade_sql('-1');
-- from other starts: head, a revision, base (nothing to do)
SELECT migrate.downgrade_sql('r2', start => 'head');
SELECT migrate.downgrade_sql('b1@base', start => 'r3');
SELECT migrate.downgrade_sql('base', start => 'base');
\pset tuples_only off
\pset format aligned
-- the same plans as migrate.plan() for the live state
SELECT step, revision, operation FROM migrate.plan('upgrade', 'head');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'base');
SELECT * FROM state;

-- Invalid input: NULL target or start
SELECT migrate.upgrade_sql(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.upgrade_sql('head', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.downgrade_sql(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.downgrade_sql('base', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: unknown target or start
SELECT migrate.upgrade_sql('nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.downgrade_sql('nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.upgrade_sql('head', start => 'nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: malformed target; upgrade to base
SELECT migrate.upgrade_sql('r1+');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.upgrade_sql('base');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: a relative step from an empty start
SELECT migrate.downgrade_sql('-1', start => 'base');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: a downgrade through an irreversible revision, planned from
-- a start where it is applied
SELECT migrate.add('r5', 'CREATE TABLE t_r5 (id int)', parents => '{r4}', message => 'irreversible');
SELECT migrate.downgrade_sql('r3', start => 'head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.downgrade_sql('base', start => 'r5');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: one step back from r5 is through r5 already
SELECT migrate.downgrade_sql('r4', start => 'r5');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- a downgrade that stays below r5 is possible
SELECT line FROM regexp_split_to_table(migrate.downgrade_sql('r1', start => 'r4'), E'\n') AS line
 WHERE line LIKE '-- downgrade %';
SELECT migrate.remove('r5');
SELECT * FROM state;

-- migrate.offline_step() outside a transaction that called offline_begin()
SELECT migrate.offline_step('r3', (SELECT checksum FROM migrate.revision WHERE id = 'r3'));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: offline_begin() with NULL arguments or another operation
SELECT migrate.offline_begin('upgrade', 'head', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.offline_begin(NULL, 'head', '{}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.offline_begin('stamp', 'head', '{r1,r2}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: a start set other than the applied set {r1, r2}
SELECT migrate.offline_begin('upgrade', 'head', '{}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2,r3}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.offline_begin('downgrade', 'base', '{r1,b1,r3}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.offline_begin('upgrade', 'head', '{r2,r1}');
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2}');
SELECT * FROM state;

-- the script's transaction, step by step
BEGIN;
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2}');
SELECT count(*) AS lock_held FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
   AND ((classid::bigint << 32) | objid::bigint) = migrate.lock_key();
-- Invalid input: a checksum other than the revision's
CREATE TABLE t_b1 (id int);
SELECT migrate.offline_step('b1', 'ec15a20d7c1cf13218b6b8521917b70d6bbf152715354e3a0b126d5811d74c20');
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
BEGIN;
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2}');
-- Invalid input: out of order: r3 before b1, which it depends on
SELECT migrate.offline_step('r3', (SELECT checksum FROM migrate.revision WHERE id = 'r3'));
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
BEGIN;
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2}');
-- Invalid input: a revision that is already applied
SELECT migrate.offline_step('r2', (SELECT checksum FROM migrate.revision WHERE id = 'r2'));
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
BEGIN;
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2}');
-- Invalid input: a revision that does not exist; NULL arguments
SELECT migrate.offline_step('nope', 'x');
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
BEGIN;
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2}');
SELECT migrate.offline_step('r3', NULL);
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- a begin in an earlier transaction does not count
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2}');
SELECT migrate.offline_step('b1', (SELECT checksum FROM migrate.revision WHERE id = 'b1'));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT max(id) AS last_history_id FROM migrate.history \gset

-- a valid upgrade, as the script for head from current does it
BEGIN;
SELECT migrate.offline_begin('upgrade', 'head', '{r1,r2}');
CREATE TABLE t_b1 (id int);
SELECT migrate.offline_step('b1', (SELECT checksum FROM migrate.revision WHERE id = 'b1'));
INSERT INTO t_r1 VALUES (1, 'it''s');
INSERT INTO t_b1 VALUES (1);
SELECT migrate.offline_step('r3', (SELECT checksum FROM migrate.revision WHERE id = 'r3'));
SELECT migrate.offline_step('r4', (SELECT checksum FROM migrate.revision WHERE id = 'r4'));
COMMIT;
SELECT * FROM state;
SELECT a.revision, a.checksum = r.checksum AS checksum_ok
  FROM migrate.applied a JOIN migrate.revision r ON r.id = a.revision ORDER BY a.revision COLLATE "C";
-- one history row per step, one operation, with the script's target
SELECT operation, revision, target, success, sqlstate, checksum = (SELECT checksum FROM migrate.revision r WHERE r.id = h.revision) AS checksum_ok
  FROM migrate.history h WHERE id > :last_history_id ORDER BY id;
SELECT count(DISTINCT operation_id) AS operations FROM migrate.history WHERE id > :last_history_id;
SELECT * FROM migrate.verify();
SELECT migrate.check();
SELECT * FROM migrate.current();
SELECT max(id) AS last_history_id FROM migrate.history \gset

-- a downgrade: a step whose descendants are applied is refused
BEGIN;
SELECT migrate.offline_begin('downgrade', 'r2', '{b1,r1,r2,r3,r4}');
SELECT migrate.offline_step('r3', (SELECT checksum FROM migrate.revision WHERE id = 'r3'));
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- a downgrade step under an upgrade's begin is an upgrade step: refused
BEGIN;
SELECT migrate.offline_begin('upgrade', 'head', '{b1,r1,r2,r3,r4}');
SELECT migrate.offline_step('r4', (SELECT checksum FROM migrate.revision WHERE id = 'r4'));
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- a valid downgrade to r2, as downgrade_sql('r2') writes it
\pset format unaligned
\pset tuples_only on
SELECT migrate.downgrade_sql('r2');
\pset tuples_only off
\pset format aligned
BEGIN;
SELECT migrate.offline_begin('downgrade', 'r2', '{b1,r1,r2,r3,r4}');
SELECT migrate.offline_step('r4', (SELECT checksum FROM migrate.revision WHERE id = 'r4'));
DELETE FROM t_b1;
DELETE FROM t_r1;
SELECT migrate.offline_step('r3', (SELECT checksum FROM migrate.revision WHERE id = 'r3'));
COMMIT;
SELECT * FROM state;
SELECT operation, revision, target, success FROM migrate.history WHERE id > :last_history_id ORDER BY id;
SELECT * FROM migrate.verify();
-- the online operations go on from the state the offline ones left
SELECT revision FROM migrate.upgrade('head');
SELECT * FROM migrate.verify();
SELECT revision FROM migrate.downgrade('base');
SELECT * FROM state;
SELECT * FROM migrate.verify();

DROP VIEW state;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
