-- The first slice end to end: add a linear chain, upgrade in order in the
-- caller's transaction, a no-op second upgrade, current and heads, and the
-- rows left in applied and history.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT migrate.add('0001_users', up => 'CREATE TABLE users (id int PRIMARY KEY)',
                   down => 'DROP TABLE users', message => 'create users');
SELECT migrate.add('0002_email', up => 'ALTER TABLE users ADD email text',
                   down => 'ALTER TABLE users DROP email', message => 'add email');
SELECT migrate.add('0003_email_idx', up => 'CREATE INDEX users_email_idx ON users (email)',
                   down => 'DROP INDEX users_email_idx', message => 'index email');

-- parents defaulted to the single head each time
SELECT id, parents, message, down_sql IS NOT NULL AS reversible, created_by,
       length(checksum) AS checksum_length
  FROM migrate.revision ORDER BY id;
SELECT * FROM migrate.heads();
SELECT * FROM migrate.current();

-- applies 0001, 0002, 0003 in order, one row each
CREATE TEMP TABLE upgraded AS SELECT * FROM migrate.upgrade('head');
-- each row's duration is the one its history row records
SELECT u.revision, u.message, u.duration = h.duration AS duration_recorded
  FROM upgraded u JOIN migrate.history h ON h.revision = u.revision AND h.operation = 'upgrade'
 ORDER BY h.id;

SELECT revision, applied_by, a.checksum = r.checksum AS checksum_matches
  FROM migrate.applied a JOIN migrate.revision r ON r.id = a.revision ORDER BY revision;
SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 ORDER BY attnum;
SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'users'::regclass ORDER BY 1;
SELECT * FROM migrate.current();

-- history: one upgrade row per revision, one operation id for the call
SELECT operation, revision, target, success, sqlstate, error, session_role, effective_role,
       backend_pid = pg_backend_pid() AS this_backend, txid IS NOT NULL AS has_txid
  FROM migrate.history ORDER BY id;
SELECT count(DISTINCT operation_id) AS upgrade_calls FROM migrate.history WHERE operation = 'upgrade';

-- a second upgrade is a no-op with a notice
SELECT revision, message FROM migrate.upgrade('head');
SELECT migrate.upgrade();
SELECT count(*) FROM migrate.history WHERE operation = 'upgrade';

-- re-running the registration script is a no-op: no new revision, no history row
SELECT migrate.add('0002_email', up => 'ALTER TABLE users ADD email text',
                   down => 'ALTER TABLE users DROP email', message => 'add email');
SELECT count(*) FROM migrate.history WHERE operation IN ('add', 'replace');

-- a new revision on top, and upgrade applies only it
SELECT migrate.add('0004_users_name', up => 'ALTER TABLE users ADD name text',
                   down => 'ALTER TABLE users DROP name');
SELECT revision FROM migrate.upgrade('head');

-- the call runs in the caller's transaction: a rollback undoes SQL and state
SELECT migrate.add('0005_orders', up => 'CREATE TABLE orders (id int)', down => 'DROP TABLE orders');
BEGIN;
SELECT revision FROM migrate.upgrade('head');
SELECT count(*) FROM pg_class WHERE relname = 'orders';
ROLLBACK;
SELECT count(*) FROM pg_class WHERE relname = 'orders';
SELECT count(*) FROM migrate.applied WHERE revision = '0005_orders';
SELECT count(*) FROM migrate.history WHERE revision = '0005_orders' AND operation = 'upgrade';

-- a failing revision names itself, keeps its SQLSTATE, and leaves nothing
SELECT migrate.add('0006_bad', up => 'CREATE TABLE accounts (id int); SELECT 1/0;',
                   down => 'DROP TABLE accounts');
SELECT revision FROM migrate.upgrade('head');
SELECT count(*) FROM pg_class WHERE relname IN ('orders', 'accounts');
SELECT revision FROM migrate.applied ORDER BY 1;
SELECT count(*) FROM migrate.history WHERE operation = 'upgrade' AND revision IN ('0005_orders', '0006_bad');
SELECT migrate.remove('0006_bad');

-- downgrade one step runs the down SQL stored in the database
SELECT revision, message FROM migrate.downgrade('-1');
SELECT revision FROM migrate.applied ORDER BY 1;
SELECT count(*) FROM pg_class WHERE relname = 'orders';

-- and back to base, newest first
SELECT revision FROM migrate.downgrade('base');
SELECT count(*) FROM migrate.applied;
SELECT count(*) FROM pg_class WHERE relname = 'users';
SELECT operation, count(*) FROM migrate.history GROUP BY 1 ORDER BY 1;

-- the deploy lock is the advisory lock on migrate.lock_key(), held to commit
BEGIN;
SELECT revision FROM migrate.upgrade('0001_users');
SELECT locktype, classid::bigint << 32 | objid::bigint = migrate.lock_key() AS is_deploy_key,
       objsubid, mode, granted
  FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
COMMIT;
SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();

SELECT revision FROM migrate.downgrade('base');
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
