-- stamp(T): the applied set becomes exactly the closure of T, no SQL runs,
-- one history row per revision added or removed (removals carry no
-- checksum), and the new current heads are returned.  Covers base, head,
-- heads, a middle revision, labels, relative targets, continuing with
-- upgrade after a stamp, and stamping an irreversible revision away.
-- The view "state" shows the applied set and the tables that exist;
-- "last_stamp" the history rows of the latest operation.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied,
       ARRAY(SELECT relname::text FROM pg_class
             WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY relname) AS tables;
CREATE TEMP VIEW last_stamp AS
SELECT operation, revision, target, success, checksum IS NULL AS removal,
       checksum IS NOT DISTINCT FROM (SELECT r.checksum FROM migrate.revision r WHERE r.id = h.revision)
         OR checksum IS NULL AS checksum_ok
  FROM migrate.history h
 WHERE operation_id = (SELECT max(operation_id) FROM migrate.history)
 ORDER BY id;

-- a chain s1 <- s2 <- s3 <- s4; s2 has the label "mid"; s3 has no down SQL
SELECT migrate.add('s1', 'CREATE TABLE t_s1 (id int)', 'DROP TABLE t_s1', message => 'one');
SELECT migrate.add('s2', 'CREATE TABLE t_s2 (id int)', 'DROP TABLE t_s2', message => 'two', branch_labels => '{mid}');
SELECT migrate.add('s3', 'CREATE TABLE t_s3 (id int)', NULL, message => 'three, irreversible');
SELECT migrate.add('s4', 'CREATE TABLE t_s4 (id int)', 'DROP TABLE t_s4', message => 'four');

-- a middle revision: s1 and s2 are applied, no table is created
SELECT migrate.stamp('s2');
SELECT * FROM state;
SELECT * FROM last_stamp;
-- upgrade continues from the stamped point: only s3 and s4 run
SELECT revision, message FROM migrate.upgrade('head');
SELECT * FROM state;
-- Not in prerequisite state: s3 cannot be downgraded
SELECT revision, message FROM migrate.downgrade('mid');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- but it can be stamped away: s4 and s3 are unstamped, children first; their tables stay
SELECT migrate.stamp('mid');
SELECT * FROM state;
SELECT * FROM last_stamp;
DROP TABLE t_s3, t_s4;
-- already there: a notice, the current heads, no history row
SELECT count(*) AS history_before FROM migrate.history \gset
SELECT migrate.stamp('mid');
SELECT count(*) - :history_before AS new_history_rows FROM migrate.history;
-- head: s3 and s4 are stamped, parents first
SELECT migrate.stamp('head');
SELECT * FROM state;
SELECT * FROM last_stamp;
-- base: everything goes, newest first; no table is dropped
SELECT migrate.stamp('base');
SELECT * FROM state;
SELECT * FROM last_stamp;
SELECT migrate.stamp('base');

-- relative targets
SELECT migrate.stamp('+1');
SELECT migrate.stamp('+2');
SELECT migrate.stamp('-1');
SELECT migrate.stamp('s4-1');
SELECT migrate.stamp('current-2');
SELECT migrate.stamp('mid@+2');
SELECT migrate.stamp('mid@-1');
SELECT migrate.stamp('head-3');
SELECT migrate.stamp('current');
SELECT * FROM state;
-- label@base: the position before the root of the label's branch; mid's
-- branch goes down to s1 (no fork below s2), so nothing stays
SELECT migrate.stamp('head');
SELECT migrate.stamp('mid@base');
SELECT * FROM state;
SELECT * FROM last_stamp;
-- -1 from the first revision is base
SELECT migrate.stamp('s1');
SELECT migrate.stamp('-1');
SELECT * FROM state;

-- errors change nothing (s1 and s2 stamped)
SELECT migrate.stamp('mid');
-- Invalid input: NULL target
SELECT migrate.stamp(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: malformed target
SELECT migrate.stamp('mid@');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT migrate.stamp('heads-1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target
SELECT migrate.stamp('nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target: past the head and past base
SELECT migrate.stamp('+3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT migrate.stamp('-3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;

-- a second branch: x1 (label "side") forks from s1
SELECT migrate.add('x1', 'CREATE TABLE t_x1 (id int)', 'DROP TABLE t_x1', parents => '{s1}', message => 'side', branch_labels => '{side}');
-- Ambiguous: head with two graph heads
SELECT migrate.stamp('head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: s1+1 is a fork
SELECT migrate.stamp('s1+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- heads: both branches, parents first, ties by id
SELECT migrate.stamp('heads');
SELECT * FROM state;
SELECT * FROM last_stamp;
-- Ambiguous: -1 with two current heads
SELECT migrate.stamp('-1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- as Alembic's stamp, only the current heads on the target's lineage move:
-- side is already there and s4 is on another branch, so nothing changes
SELECT migrate.stamp('side');
SELECT * FROM state;
-- s2: s4 moves down to s2, x1 stays
SELECT migrate.stamp('s2');
SELECT * FROM state;
SELECT * FROM last_stamp;
-- side@base: x1 moves down to s1 (side's branch is x1 alone: s1 is a fork), s2 stays
SELECT migrate.stamp('side@base');
SELECT * FROM state;
-- upgrade after a stamp of s3 runs only s4 and x1
SELECT migrate.stamp('s3');
SELECT revision, message FROM migrate.upgrade('heads');
SELECT * FROM state;
-- downgrade of side runs x1's down SQL only
SELECT revision, message FROM migrate.downgrade('side@base');
SELECT * FROM state;

-- a stamp inside a rolled back transaction leaves nothing
BEGIN;
SELECT migrate.stamp('base');
SELECT * FROM state;
ROLLBACK;
SELECT * FROM state;

-- clean up: the irreversible s3 is stamped away, t_s4 dropped by hand
SELECT migrate.stamp('base');
SELECT * FROM state;
DROP TABLE t_s4;
DROP VIEW state;
DROP VIEW last_stamp;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
