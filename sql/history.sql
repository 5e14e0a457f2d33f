SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- migrate.history: one row per step of every operation (add, replace,
-- remove, upgrade, downgrade, stamp, and deploy's upgrade rows, failures
-- included), one operation_id per call, the target as the caller wrote it,
-- who (session and effective role under SET ROLE), from where
-- (application_name, client_addr, backend_pid) and in which transaction;
-- success, sqlstate and error are NULL on success.  Then the chain: every
-- row's prev_hash is the hash of the row before it, the first row's is NULL,
-- and every checksum and hash can be recomputed in plain SQL from the format
-- documented in README.md.  Hashes and checksums are compared, never printed.
\set VERBOSITY default
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_migrate_hist;
RESET client_min_messages;
-- a deployer role, for rows written under SET ROLE
CREATE ROLE regress_migrate_hist;
GRANT USAGE ON SCHEMA migrate TO regress_migrate_hist;
GRANT EXECUTE ON FUNCTION migrate.add(text, text, text, text[], text, text[], text[], boolean, text[]),
                          migrate.upgrade(text), migrate.downgrade(text) TO regress_migrate_hist;
GRANT EXECUTE ON PROCEDURE migrate.deploy(text) TO regress_migrate_hist;
GRANT CREATE ON SCHEMA public TO regress_migrate_hist;
SET application_name = 'regress_history';

-- History rows after the id in pg_temp.seen, deterministic columns only:
-- "op" numbers the calls (distinct operation_ids) from 1 in this test; the
-- session user is shown as "session_user"; "own" says backend_pid and
-- client_addr are this session's; "sum" says whether the row's checksum is
-- the revision's current checksum.
CREATE TEMP TABLE seen (id bigint NOT NULL);
INSERT INTO seen VALUES (0);
CREATE TEMP VIEW new_rows AS
SELECT h.op, h.operation, h.revision, h.target, h.success, h.sqlstate, h.error,
       CASE h.session_role WHEN session_user THEN 'session_user' ELSE h.session_role::text END AS session_role,
       CASE h.effective_role WHEN session_user THEN 'session_user' ELSE h.effective_role::text END AS effective_role,
       h.application_name,
       h.backend_pid = pg_backend_pid() AND h.client_addr IS NOT DISTINCT FROM inet_client_addr() AS own,
       CASE WHEN h.checksum IS NULL THEN NULL
            WHEN h.checksum = r.checksum THEN 'current' ELSE 'other' END AS sum
  FROM (SELECT x.*, dense_rank() OVER (ORDER BY x.operation_id) AS op FROM migrate.history x) h
  LEFT JOIN migrate.revision r ON r.id = h.revision
 WHERE h.id > (SELECT id FROM seen)
 ORDER BY h.id;
-- news(): the rows written since the last call of news()
CREATE FUNCTION pg_temp.news() RETURNS SETOF new_rows LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT * FROM new_rows;
  UPDATE seen SET id = (SELECT coalesce(max(h.id), 0) FROM migrate.history h);
END $$;

-- add: one row each, no target, the new checksum
SELECT migrate.add('h1', 'CREATE TABLE t_h1 (id int)', 'DROP TABLE t_h1', message => 'one');
SELECT migrate.add('h2', 'CREATE TABLE t_h2 (id int)', 'DROP TABLE t_h2', message => 'two');
SELECT migrate.add('h3', 'CREATE TABLE t_h3 (id int)', 'DROP TABLE t_h3', message => 'three');
SELECT * FROM pg_temp.news();
-- the same content again is a no-op: no row
SELECT migrate.add('h1', 'CREATE TABLE t_h1 (id int)', 'DROP TABLE t_h1', message => 'one');
SELECT * FROM pg_temp.news();
-- replace (unapplied, new SQL): one "replace" row with the new checksum;
-- the "add" row keeps the checksum the revision had then
SELECT checksum AS h3_before FROM migrate.revision WHERE id = 'h3' \gset
SELECT migrate.add('h3', 'CREATE TABLE t_h3 (id bigint)', 'DROP TABLE t_h3', message => 'three');
SELECT * FROM pg_temp.news();
SELECT count(*) FILTER (WHERE h.operation = 'add' AND h.checksum = :'h3_before') AS add_row_old_sum,
       count(*) FILTER (WHERE h.operation = 'replace' AND h.checksum = r.checksum
                          AND h.checksum <> :'h3_before') AS replace_row_new_sum
  FROM migrate.history h, migrate.revision r WHERE r.id = 'h3' AND h.revision = 'h3';
-- remove: one row carrying the removed revision's checksum
SELECT checksum AS h3_removed FROM migrate.revision WHERE id = 'h3' \gset
SELECT migrate.remove('h3');
SELECT * FROM pg_temp.news();
SELECT checksum = :'h3_removed' AS remove_row_sum
  FROM migrate.history WHERE operation = 'remove';
SELECT migrate.add('h3', 'CREATE TABLE t_h3 (id int)', 'DROP TABLE t_h3', message => 'three');
SELECT * FROM pg_temp.news();

-- upgrade: one row per revision, all with the call's operation_id, the
-- target as written, this transaction's txid, and times inside it
BEGIN;
SELECT revision, message FROM migrate.upgrade('head');
SELECT count(*) AS rows, count(DISTINCT operation_id) AS operation_ids,
       bool_and(txid = pg_current_xact_id()) AS this_txid,
       bool_and(started_at >= now() AND started_at + duration <= clock_timestamp()) AS in_this_transaction,
       bool_and(duration >= '0') AS durations
  FROM migrate.history WHERE id > (SELECT id FROM seen);
COMMIT;
SELECT * FROM pg_temp.news();
-- downgrade: newest first; the target as written
SELECT revision FROM migrate.downgrade('-2');
SELECT * FROM pg_temp.news();
-- stamp: one row per revision added (its checksum) or removed (NULL)
SELECT migrate.stamp('h3');
SELECT * FROM pg_temp.news();
SELECT migrate.stamp('h1');
SELECT * FROM pg_temp.news();
-- a stamp takes no time: duration is zero
SELECT bool_and(duration = '0') AS stamp_durations_zero FROM migrate.history WHERE operation = 'stamp';

-- under SET ROLE: session_role stays the session user, effective_role is the
-- role in effect; an empty application_name is recorded as NULL
SET ROLE regress_migrate_hist;
SET application_name = '';
SELECT revision FROM migrate.upgrade('h1+1');
SELECT migrate.add('h4', 'CREATE TABLE t_h4 (id int)', 'DROP TABLE t_h4', message => 'four, by hist');
RESET ROLE;
SELECT * FROM pg_temp.news();
SELECT created_by FROM migrate.revision WHERE id = 'h4';
SELECT revision, applied_by FROM migrate.applied ORDER BY revision COLLATE "C";

-- deploy: one transaction per revision, one operation_id for the whole call;
-- a failing revision writes a success = false row with its SQLSTATE and
-- message, and that row is committed before the error is raised
SET application_name = 'regress_deploy';
SELECT migrate.add('h5', 'CREATE TABLE t_h5 (id int); SELECT 1/0', 'DROP TABLE t_h5', message => 'five fails');
SELECT * FROM pg_temp.news();
SET ROLE regress_migrate_hist;
CALL migrate.deploy();
RESET ROLE;
SELECT count(*) AS rows, count(DISTINCT operation_id) AS operation_ids,
       count(DISTINCT txid) AS transactions
  FROM migrate.history WHERE id > (SELECT id FROM seen);
SELECT * FROM pg_temp.news();
-- the failing revision is not applied and its table was rolled back
SELECT array_agg(revision ORDER BY revision COLLATE "C") AS applied FROM migrate.applied;
SELECT to_regclass('t_h5') AS t_h5;
SELECT migrate.remove('h5');
SELECT * FROM pg_temp.news();

-- a merge is an "add" row
SELECT migrate.add('h6a', '', '', parents => '{h4}');
SELECT migrate.add('h6b', '', '', parents => '{h4}');
SELECT migrate.merge(message => 'join', id => 'h7');
SELECT * FROM pg_temp.news();

-- The chain: the first row has no prev_hash, every other row's prev_hash is
-- the hash of the row before it, and all hashes are distinct SHA-256 hex.
SELECT count(*) AS rows,
       bool_and(CASE WHEN n = 1 THEN prev_hash IS NULL ELSE prev_hash = prev END) AS linked,
       count(DISTINCT hash) = count(*) AS distinct_hashes,
       bool_and(hash ~ '^[0-9a-f]{64}$') AS hex
  FROM (SELECT prev_hash, hash, lag(hash) OVER w AS prev, row_number() OVER w AS n
          FROM migrate.history WINDOW w AS (ORDER BY id)) c;
-- operation_ids increase with the calls
SELECT bool_and(operation_id >= prev) AS operation_ids_increase
  FROM (SELECT operation_id, lag(operation_id, 1, 0::bigint) OVER (ORDER BY id) AS prev
          FROM migrate.history) o;

-- Every checksum and hash, recomputed from the documented serialization:
-- each string as <bytes>:<value>; NULL as -; an array as <count>[...].
CREATE FUNCTION pg_temp.s(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v IS NULL THEN '-;' ELSE octet_length(v) || ':' || v || ';' END
$$;
CREATE FUNCTION pg_temp.a(v text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT cardinality(v) || '[' ||
         coalesce((SELECT string_agg(pg_temp.s(e), '' ORDER BY o)
                     FROM unnest(v) WITH ORDINALITY AS u(e, o)), '') || ']'
$$;
CREATE FUNCTION pg_temp.sha(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(v, current_setting('server_encoding'))), 'hex')
$$;
-- a revision whose SQL has multi-byte characters: lengths are in bytes
SELECT migrate.add('h8', 'COMMENT ON TABLE t_h1 IS ''ünïcødé''', 'COMMENT ON TABLE t_h1 IS NULL', message => 'é');
SELECT count(*) AS revisions,
       bool_and(checksum = pg_temp.sha(pg_temp.s('migrate revision v1') || pg_temp.s(id)
                || pg_temp.a(parents) || pg_temp.a(depends_on)
                || pg_temp.s(up_sql) || pg_temp.s(down_sql))) AS checksums_recomputed
  FROM migrate.revision;
SELECT count(*) AS history_rows,
       bool_and(hash = pg_temp.sha(pg_temp.s('migrate history v1')
                || pg_temp.s(operation_id::text) || pg_temp.s(operation)
                || pg_temp.s(revision) || pg_temp.s(target)
                || pg_temp.s(CASE WHEN success THEN 't' ELSE 'f' END)
                || pg_temp.s(sqlstate) || pg_temp.s(error)
                || pg_temp.s(((extract(epoch FROM started_at) - 946684800) * 1000000)::bigint::text)
                || pg_temp.s(extract(month FROM duration)::text)
                || pg_temp.s(extract(day FROM duration)::text)
                || pg_temp.s((extract(epoch FROM duration) * 1000000)::bigint::text)
                || pg_temp.s(session_role) || pg_temp.s(effective_role)
                || pg_temp.s(application_name) || pg_temp.s(client_addr::text)
                || pg_temp.s(backend_pid::text) || pg_temp.s(txid::text)
                || pg_temp.s(checksum) || pg_temp.s(prev_hash)
                || CASE WHEN detail IS NULL THEN ''
                        ELSE pg_temp.s('detail') || pg_temp.s(detail::text) END)) AS hashes_recomputed
  FROM migrate.history;

-- after all of that, the catalogs are consistent
SELECT * FROM migrate.verify();

-- clean up: each downgrade runs as the role that owns the tables
SET ROLE regress_migrate_hist;
SELECT revision FROM migrate.downgrade('h1');
RESET ROLE;
SELECT revision FROM migrate.downgrade('base');
SELECT * FROM pg_temp.news();
SELECT count(*) AS tables_left FROM pg_class WHERE relname LIKE 't\_h%';
SELECT count(*) AS problems FROM migrate.verify();
DROP OWNED BY regress_migrate_hist;
DROP ROLE regress_migrate_hist;
