-- CALL migrate.deploy(): an upgrade that commits after each revision (SPEC
-- sections 1 and 4).  Each step sends a NOTICE; a failing revision is
-- recorded in history (success = false, its SQLSTATE and message) and
-- committed before its error is raised, the revisions before it stay
-- applied, the ones after it are not run.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;

-- one row per upgrade step of the history, in order; call numbers the calls
CREATE VIEW deploy_history AS
SELECT dense_rank() OVER (ORDER BY h.operation_id) AS call,
       h.revision, h.target, h.success, h.sqlstate, h.error,
       h.checksum IS NOT DISTINCT FROM r.checksum AS checksum_matches
  FROM migrate.history h LEFT JOIN migrate.revision r ON r.id = h.revision
 WHERE h.operation = 'upgrade'
 ORDER BY h.id;

SELECT migrate.add('0001_dep_users', up => 'CREATE TABLE dep_users (id int PRIMARY KEY)',
                   down => 'DROP TABLE dep_users', message => 'create users');
SELECT migrate.add('0002_dep_email', up => 'ALTER TABLE dep_users ADD email text',
                   down => 'ALTER TABLE dep_users DROP email', message => 'add email');
SELECT migrate.add('0003_dep_seed', up => 'INSERT INTO dep_users VALUES (1, ''a@example.com'')',
                   down => 'DELETE FROM dep_users WHERE id = 1');

-- not inside a transaction block: deploy commits
BEGIN;
CALL migrate.deploy();
ROLLBACK;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- nor in a function, which runs in its caller's transaction
CREATE FUNCTION deploy_from_function() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  CALL migrate.deploy();
END $$;
SELECT deploy_from_function();
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
DROP FUNCTION deploy_from_function();
-- a NULL target
CALL migrate.deploy(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- an unknown or malformed target: nothing runs
CALL migrate.deploy('0009_nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL migrate.deploy('no such');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CALL migrate.deploy('base');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- none of these ran anything or left a history row
SELECT count(*) AS applied FROM migrate.applied;
SELECT count(*) AS upgrade_rows FROM migrate.history WHERE operation = 'upgrade';

-- the happy path: one NOTICE per revision, in order
CALL migrate.deploy();
SELECT revision FROM migrate.applied ORDER BY revision;
SELECT * FROM dep_users;
-- one call (one operation id), but one transaction per revision
SELECT * FROM deploy_history;
SELECT count(DISTINCT operation_id) AS calls, count(DISTINCT txid) AS transactions
  FROM migrate.history WHERE operation = 'upgrade';
SELECT * FROM migrate.current();
-- no lock outlives the call
SELECT count(*) AS advisory_locks FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- nothing to do: a NOTICE, no history row
CALL migrate.deploy();
CALL migrate.deploy('head');
SELECT count(*) AS upgrade_rows FROM migrate.history WHERE operation = 'upgrade';

-- a target: a revision id applies that revision and what it needs, no more
SELECT migrate.add('0004_dep_name', up => 'ALTER TABLE dep_users ADD name text',
                   down => 'ALTER TABLE dep_users DROP name', message => 'add name');
SELECT migrate.add('0005_dep_orders', up => 'CREATE TABLE dep_orders (id int)',
                   down => 'DROP TABLE dep_orders', message => 'create orders');
SELECT migrate.add('0006_dep_items', up => 'CREATE TABLE dep_items (id int)',
                   down => 'DROP TABLE dep_items', message => 'create items');
CALL migrate.deploy('0004_dep_name');
SELECT * FROM migrate.current();
-- a unique prefix is a target too
CALL migrate.deploy(target => '0005');
SELECT * FROM migrate.current();
SELECT revision, target FROM deploy_history WHERE call > 1;

-- from a DO block (not atomic) deploy runs as from a top-level CALL
DO $$
BEGIN
  CALL migrate.deploy();
END $$;
SELECT * FROM migrate.current();
SELECT count(*) FROM dep_items;

-- failing at revision 2 of 3: 0007 stays applied, 0008's error is recorded
-- with its SQLSTATE and committed, 0009 is not run
SELECT migrate.add('0007_dep_tags', up => 'CREATE TABLE dep_tags (id int PRIMARY KEY)',
                   down => 'DROP TABLE dep_tags', message => 'create tags');
SELECT migrate.add('0008_dep_seed_tags',
                   up => 'CREATE TABLE dep_half (id int);
INSERT INTO dep_tags VALUES (1), (1)',
                   down => 'DROP TABLE dep_half; DELETE FROM dep_tags', message => 'seed tags');
SELECT migrate.add('0009_dep_labels', up => 'CREATE TABLE dep_labels (id int)',
                   down => 'DROP TABLE dep_labels', message => 'create labels');
CALL migrate.deploy();
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT revision FROM migrate.applied WHERE revision >= '0007' ORDER BY revision;
SELECT * FROM deploy_history WHERE revision >= '0007';
-- the failure row belongs to the same call as the revision before it
SELECT count(DISTINCT operation_id) AS calls FROM migrate.history
 WHERE operation = 'upgrade' AND revision IN ('0007_dep_tags', '0008_dep_seed_tags');
-- 0007 ran; of 0008 nothing remains (its first statement was rolled back too)
SELECT relname FROM pg_class
 WHERE relname IN ('dep_tags', 'dep_half', 'dep_labels') AND relnamespace = 'public'::regnamespace
 ORDER BY 1;
SELECT * FROM migrate.current();
SELECT count(*) AS advisory_locks FROM pg_locks
 WHERE locktype = 'advisory' AND pid = pg_backend_pid();

-- fixed (0008 is not applied, so it may be replaced), the next deploy goes on
-- from where the failed one stopped
SELECT migrate.add('0008_dep_seed_tags', up => 'INSERT INTO dep_tags VALUES (1), (2)',
                   down => 'DELETE FROM dep_tags', message => 'seed tags');
CALL migrate.deploy();
SELECT revision FROM migrate.applied WHERE revision >= '0007' ORDER BY revision;
SELECT * FROM deploy_history WHERE revision >= '0007';
SELECT * FROM dep_tags ORDER BY id;

-- a relative target is resolved once, against the state when the call
-- starts: '+1' applies exactly one revision, '+2' two
SELECT migrate.add('0010_dep_a', up => 'CREATE TABLE dep_a (id int)', down => 'DROP TABLE dep_a');
SELECT migrate.add('0011_dep_b', up => 'CREATE TABLE dep_b (id int)', down => 'DROP TABLE dep_b');
SELECT migrate.add('0012_dep_c', up => 'CREATE TABLE dep_c (id int)', down => 'DROP TABLE dep_c');
SELECT migrate.add('0013_dep_d', up => 'CREATE TABLE dep_d (id int)', down => 'DROP TABLE dep_d');
CALL migrate.deploy('+1');
SELECT * FROM migrate.current();
CALL migrate.deploy('+2');
SELECT * FROM migrate.current();
SELECT revision, target, success FROM deploy_history WHERE revision >= '0010';

DROP VIEW deploy_history;
SET client_min_messages = warning;
DROP TABLE IF EXISTS dep_users, dep_orders, dep_items, dep_tags, dep_half, dep_labels,
  dep_a, dep_b, dep_c, dep_d;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
RESET client_min_messages;
