-- Statements that cannot run inside a transaction block (25001), as the
-- callers of PreventInTransactionBlock() in PostgreSQL 15 decide it
-- (src/txblock.c).  migrate.add, for a revision marked transactional =>
-- true, refuses every form and accepts the near misses (unmarked, such a
-- revision is registered non-transactional); the server, running each form
-- in a transaction block through SPI as migrate runs a revision's SQL,
-- refuses the same ones in the same words.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;

-- what the statements name
CREATE TABLE tx_t (a int);
CREATE INDEX tx_t_a ON tx_t (a);
CREATE TABLE tx_p (a int) PARTITION BY RANGE (a);
CREATE TABLE tx_p1 PARTITION OF tx_p FOR VALUES FROM (0) TO (10);
CREATE INDEX tx_p_a ON tx_p (a);
CREATE TYPE tx_e AS ENUM ('x');
CREATE MATERIALIZED VIEW tx_mv AS SELECT 1 AS a;
CREATE UNIQUE INDEX tx_mv_a ON tx_mv (a);
CREATE SCHEMA tx_s;
-- a subscription that has a replication slot (its name), made without
-- connecting; tables were not subscribed, says a warning
SET client_min_messages = error;
CREATE SUBSCRIPTION tx_sub CONNECTION 'dbname=tx_nowhere' PUBLICATION tx_pub WITH (connect = false);
RESET client_min_messages;
SELECT subname, subenabled, subslotname FROM pg_subscription WHERE subname = 'tx_sub';

CREATE TABLE tx_form (n serial PRIMARY KEY, sql text NOT NULL, add text);
INSERT INTO tx_form (sql) VALUES
-- vacuum(): VACUUM, ANALYZE or not
	('VACUUM'),
	('VACUUM tx_t'),
	('VACUUM (ANALYZE) tx_t'),
	('VACUUM FULL tx_t'),
-- standard_ProcessUtility()
	('CREATE DATABASE tx_db'),
	('DROP DATABASE tx_nowhere'),
	('DROP DATABASE IF EXISTS tx_nowhere'),
	('CREATE TABLESPACE tx_ts LOCATION ''/nonexistent'''),
	('DROP TABLESPACE tx_nowhere'),
	('ALTER SYSTEM SET work_mem = ''8MB'''),
	('ALTER SYSTEM RESET ALL'),
	('COMMIT PREPARED ''tx'''),
	('ROLLBACK PREPARED ''tx'''),
-- AlterDatabase(): moving the database's files
	('ALTER DATABASE tx_nowhere SET TABLESPACE pg_default'),
	('ALTER DATABASE tx_nowhere WITH TABLESPACE pg_default'),
-- ProcessUtilitySlow(), ExecDropStmt()
	('CREATE INDEX CONCURRENTLY tx_i ON tx_t (a)'),
	('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS tx_i ON tx_t (a)'),
	('DROP INDEX CONCURRENTLY tx_t_a'),
	('DROP INDEX CONCURRENTLY IF EXISTS tx_nowhere'),
	('CREATE SCHEMA tx_s2 CREATE TABLE tx_t2 (a int) CREATE INDEX CONCURRENTLY tx_i2 ON tx_t2 (a)'),
	('ALTER TABLE tx_p DETACH PARTITION tx_p1 CONCURRENTLY'),
-- ExecReindex()
	('REINDEX TABLE CONCURRENTLY tx_t'),
	('REINDEX (CONCURRENTLY) INDEX tx_t_a'),
	('REINDEX (CONCURRENTLY on) TABLE tx_t'),
	('REINDEX (CONCURRENTLY false) TABLE CONCURRENTLY tx_t'),
	('REINDEX SCHEMA tx_s'),
	('REINDEX SYSTEM tx_nowhere'),
	('REINDEX DATABASE tx_nowhere'),
-- cluster(), DiscardAll()
	('CLUSTER'),
	('CLUSTER VERBOSE'),
	('DISCARD ALL'),
-- CreateSubscription(): create_slot, true unless connect = false
	('CREATE SUBSCRIPTION tx_sub2 CONNECTION ''dbname=tx_nowhere'' PUBLICATION tx_pub'),
	('CREATE SUBSCRIPTION tx_sub2 CONNECTION ''dbname=tx_nowhere'' PUBLICATION tx_pub WITH (create_slot)'),
	('CREATE SUBSCRIPTION tx_sub2 CONNECTION ''dbname=tx_nowhere'' PUBLICATION tx_pub WITH (connect = on, create_slot = 1)'),
-- AlterSubscription(): REFRESH PUBLICATION, whatever copy_data says, and
-- SET, ADD and DROP PUBLICATION unless refresh = false
	('ALTER SUBSCRIPTION tx_sub REFRESH PUBLICATION'),
	('ALTER SUBSCRIPTION tx_sub REFRESH PUBLICATION WITH (copy_data = false)'),
	('ALTER SUBSCRIPTION tx_sub SET PUBLICATION tx_pub2'),
	('ALTER SUBSCRIPTION tx_sub SET PUBLICATION tx_pub2 WITH (copy_data = false)'),
	('ALTER SUBSCRIPTION tx_sub ADD PUBLICATION tx_pub2 WITH (refresh = true)'),
	('ALTER SUBSCRIPTION tx_sub ADD PUBLICATION tx_pub2 WITH (refresh = false); ALTER SUBSCRIPTION tx_sub DROP PUBLICATION tx_pub2'),
-- DropSubscription(): a subscription with a slot
	('DROP SUBSCRIPTION tx_sub'),
	('DROP SUBSCRIPTION tx_sub CASCADE'),
	('CREATE SUBSCRIPTION tx_sub3 CONNECTION ''dbname=tx_nowhere'' PUBLICATION tx_pub WITH (connect = false); DROP SUBSCRIPTION tx_sub3'),
	('ALTER SUBSCRIPTION tx_sub DISABLE; ALTER SUBSCRIPTION tx_sub SET (slot_name = NONE); ALTER SUBSCRIPTION tx_sub SET (slot_name = tx_slot); DROP SUBSCRIPTION tx_sub'),
-- refused here, though the server decides from the catalogs: a
-- subscription that does not exist has no slot
	('DROP SUBSCRIPTION IF EXISTS tx_nowhere'),
-- transaction control: SPI refuses it
	('BEGIN'),
	('START TRANSACTION'),
	('COMMIT'),
	('END'),
	('ROLLBACK'),
	('ABORT'),
	('SAVEPOINT tx'),
	('RELEASE SAVEPOINT tx'),
	('ROLLBACK TO SAVEPOINT tx'),
	('PREPARE TRANSACTION ''tx'''),
-- near misses, accepted: they run in a transaction block
	('ANALYZE tx_t'),
	('CREATE INDEX tx_i ON tx_t (a)'),
	('DROP INDEX tx_t_a'),
	('CREATE SCHEMA tx_s2 CREATE TABLE tx_t2 (a int) CREATE INDEX tx_i2 ON tx_t2 (a)'),
	('REINDEX TABLE tx_t'),
	('REINDEX INDEX tx_t_a'),
	('REINDEX (CONCURRENTLY false) TABLE tx_t'),
	('REINDEX (CONCURRENTLY off) INDEX tx_t_a'),
	('CLUSTER tx_t USING tx_t_a'),
	('DISCARD PLANS'),
	('DISCARD SEQUENCES'),
	('ALTER DATABASE migrate_regress SET work_mem = ''8MB'''),
	('ALTER DATABASE migrate_regress CONNECTION LIMIT 100'),
	('ALTER TABLESPACE pg_default SET (random_page_cost = 2)'),
	('ALTER TABLE tx_p DETACH PARTITION tx_p1'),
	('ALTER TYPE tx_e ADD VALUE ''y'''),
	('REFRESH MATERIALIZED VIEW CONCURRENTLY tx_mv'),
	('CREATE SUBSCRIPTION tx_sub2 CONNECTION ''dbname=tx_nowhere'' PUBLICATION tx_pub WITH (connect = false)'),
	('ALTER SUBSCRIPTION tx_sub SET PUBLICATION tx_pub2 WITH (refresh = false)'),
	('ALTER SUBSCRIPTION tx_sub ADD PUBLICATION tx_pub2 WITH (refresh = off, copy_data = true)'),
	('ALTER SUBSCRIPTION tx_sub SET (binary = true, streaming = on)'),
	('ALTER SUBSCRIPTION tx_sub CONNECTION ''dbname=tx_elsewhere'''),
	('ALTER SUBSCRIPTION tx_sub SKIP (lsn = NONE)'),
	('ALTER SUBSCRIPTION tx_sub DISABLE'),
	('ALTER SUBSCRIPTION tx_sub OWNER TO CURRENT_USER'),
	('ALTER SUBSCRIPTION tx_sub DISABLE; ALTER SUBSCRIPTION tx_sub SET (slot_name = NONE); DROP SUBSCRIPTION tx_sub'),
	('ALTER SUBSCRIPTION tx_sub DISABLE; ALTER SUBSCRIPTION tx_sub SET (slot_name = "none"); DROP SUBSCRIPTION tx_sub'),
	('ALTER SUBSCRIPTION tx_sub DISABLE; ALTER SUBSCRIPTION tx_sub SET (slot_name = NONE); ALTER SUBSCRIPTION tx_sub RENAME TO tx_sub4; DROP SUBSCRIPTION tx_sub4'),
	('CREATE SUBSCRIPTION tx_sub2 CONNECTION ''dbname=tx_nowhere'' PUBLICATION tx_pub WITH (connect = false, slot_name = NONE); DROP SUBSCRIPTION tx_sub2'),
-- accepted, but the server decides from the catalogs when it runs: a
-- partitioned table or index is reindexed or clustered partition by partition
	('REINDEX TABLE tx_p'),
	('REINDEX INDEX tx_p_a'),
	('CLUSTER tx_p USING tx_p_a'),
-- accepted: an option value the server refuses is left to its own error
	('CREATE SUBSCRIPTION tx_sub2 CONNECTION ''dbname=tx_nowhere'' PUBLICATION tx_pub WITH (create_slot = maybe)'),
	('CREATE SUBSCRIPTION tx_sub2 CONNECTION ''dbname=tx_nowhere'' PUBLICATION tx_pub WITH (connect = false, create_slot = true)'),
	('REINDEX (CONCURRENTLY 2) TABLE tx_t');

-- migrate.add's verdict on each form
CREATE FUNCTION tx_add_verdict(n int, sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM migrate.add('tx' || n, sql, parents => '{}', transactional => true);
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
UPDATE tx_form SET add = tx_add_verdict(n, sql);
SELECT count(*) AS registered FROM migrate.revision;

-- the server's verdict: the statement run through SPI in a transaction
-- block, then rolled back ("runs"), or the error it fails with
CREATE FUNCTION tx_server_verdict(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RAISE SQLSTATE 'TXRAN';
EXCEPTION WHEN OTHERS THEN
	IF SQLSTATE = 'TXRAN' THEN
		RETURN 'runs';
	END IF;
	RETURN SQLSTATE || ' ' || SQLERRM;
END $$;

BEGIN;
-- REFRESH PUBLICATION and SET PUBLICATION reach their check only for an
-- enabled subscription (a disabled one fails with 55000 before it)
ALTER SUBSCRIPTION tx_sub ENABLE;
SET LOCAL client_min_messages = error;
CREATE TABLE tx_verdict AS SELECT n, sql, add, tx_server_verdict(sql) AS server FROM tx_form ORDER BY n;
RESET client_min_messages;
SELECT n, sql, add AS "migrate.add", server AS "the server, in a transaction block" FROM tx_verdict ORDER BY n;
-- every refusal names the statement as the server's own error does, except
-- for transaction control, which SPI refuses before the server sees it, and
-- DROP SUBSCRIPTION of a subscription without a slot (here, none at all)
SELECT n, sql FROM tx_verdict WHERE add LIKE '25001 %' AND add <> server ORDER BY n;
-- what the server refuses in a transaction block and migrate.add accepts:
-- only what depends on the catalogs (partitioned tables and indexes)
SELECT n, sql FROM tx_verdict WHERE add NOT LIKE '25001 %' AND server LIKE '25001 %' ORDER BY n;
ROLLBACK;
-- at the top level, the server refuses COMMIT PREPARED itself
BEGIN;
COMMIT PREPARED 'tx';
ROLLBACK;

-- near misses run through migrate itself, in the caller's transaction
SELECT migrate.add('txrun', $sql$
CREATE INDEX tx_run_i ON tx_t (a);
ANALYZE tx_t;
REINDEX TABLE tx_t;
REINDEX (CONCURRENTLY false) INDEX tx_run_i;
CLUSTER tx_t USING tx_run_i;
DISCARD PLANS;
ALTER TABLE tx_p DETACH PARTITION tx_p1;
CREATE SUBSCRIPTION tx_run CONNECTION 'dbname=tx_nowhere' PUBLICATION tx_pub WITH (connect = false, slot_name = NONE);
ALTER SUBSCRIPTION tx_run SET PUBLICATION tx_pub, tx_pub2 WITH (refresh = false);
DROP SUBSCRIPTION tx_run;
ALTER SUBSCRIPTION tx_sub SET (slot_name = NONE);
DROP SUBSCRIPTION tx_sub;
$sql$, $sql$
CREATE SUBSCRIPTION tx_sub CONNECTION 'dbname=tx_nowhere' PUBLICATION tx_pub WITH (connect = false);
ALTER TABLE tx_p ATTACH PARTITION tx_p1 FOR VALUES FROM (0) TO (10);
DROP INDEX tx_run_i;
$sql$, parents => '{}');
SET client_min_messages = error;
SELECT revision FROM migrate.upgrade('txrun');
RESET client_min_messages;
SELECT count(*) AS subscriptions FROM pg_subscription WHERE subname LIKE 'tx%';
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'tx_p'::regclass;
SET client_min_messages = error;
SELECT revision FROM migrate.downgrade('base');
RESET client_min_messages;
SELECT subname, subenabled, subslotname FROM pg_subscription WHERE subname LIKE 'tx%';
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'tx_p'::regclass;

-- accepted, the partitioned table is refused by the server when it runs
-- (25001; through SPI even outside a transaction block), with the revision
-- and line
SELECT migrate.add('txpart', E'ANALYZE tx_p;\nCLUSTER tx_p USING tx_p_a;', parents => '{}');
SELECT revision FROM migrate.upgrade('txpart');
SELECT migrate.remove('txpart');

-- Invalid input: the refusal in full, with the revision, line and a hint
SELECT migrate.add('txv', E'ALTER SUBSCRIPTION tx_sub DISABLE;\nDROP SUBSCRIPTION tx_sub;', transactional => true);
SELECT migrate.add('txv', E'-- the slot\nCREATE SUBSCRIPTION tx_v CONNECTION \'dbname=tx_nowhere\' PUBLICATION tx_pub;', transactional => true);
SELECT migrate.add('txv', 'SELECT 1', 'ALTER SUBSCRIPTION tx_sub REFRESH PUBLICATION WITH (copy_data = false)', transactional => true);
SELECT migrate.add('txv', 'ALTER SUBSCRIPTION tx_sub ADD PUBLICATION tx_pub2', transactional => true);
SELECT migrate.add('txv', E'SELECT 1;\n\nALTER DATABASE tx_nowhere SET TABLESPACE pg_default;', transactional => true);
SELECT migrate.add('txv', 'REINDEX SCHEMA tx_s', transactional => true);
SELECT count(*) FROM migrate.revision WHERE id = 'txv';

SET client_min_messages = error;
ALTER SUBSCRIPTION tx_sub SET (slot_name = NONE);
DROP SUBSCRIPTION tx_sub;
RESET client_min_messages;
DROP FUNCTION tx_add_verdict(int, text), tx_server_verdict(text);
DROP TABLE tx_form, tx_t, tx_p;
DROP MATERIALIZED VIEW tx_mv;
DROP TYPE tx_e;
DROP SCHEMA tx_s;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
