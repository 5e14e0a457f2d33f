SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- migrate.verify(), migrate.check() and the migrate.status view.
-- verify() is empty on a database that only migrate's functions have
-- written, whatever they did (add, replace, remove, merge, upgrade,
-- downgrade, stamp, a deploy that failed and left a success = false row).
-- Then a superuser tampers with the catalogs, one change per rolled-back
-- transaction, and verify() names each problem: an edited history row, a
-- deleted middle or first history row, an edited row whose own hash was
-- recomputed, an applied revision's SQL edited (revision altered and
-- checksum drift), an unapplied revision's SQL edited, an applied ancestor
-- deleted, an unknown revision marked applied behind the foreign key, a
-- corrupt heads table, an unknown parent, a cycle.  check() is silent when
-- all is applied and unchanged, and 55000 when something is pending or
-- drifted.  status is shown empty, pending, up to date, with the deploy lock
-- held by this session, and after a failed deploy.  Hashes and history ids
-- are masked in details (<sha256>, <id>) and compared with SQL.
\set VERBOSITY default
CREATE TEMP VIEW problems AS
SELECT problem, revision,
       regexp_replace(regexp_replace(detail, '[0-9a-f]{64}', '<sha256>', 'g'),
                      '(row) [0-9]+', '\1 <id>', 'g') AS detail
  FROM migrate.verify();
-- status, with the lock holder and the last deploy compared rather than shown
CREATE TEMP VIEW st AS
SELECT s.current_heads, s.heads, s.pending, s.up_to_date,
       CASE WHEN s.lock_holder_pid IS NULL THEN 'none'
            WHEN s.lock_holder_pid = pg_backend_pid() THEN 'this session'
            ELSE 'another session' END AS lock_holder,
       s.last_deploy_at IS NOT DISTINCT FROM
         (SELECT h.started_at FROM migrate.history h
           WHERE h.operation IN ('upgrade', 'downgrade') AND h.success
           ORDER BY h.id DESC LIMIT 1) AS last_deploy_at_ok,
       CASE s.last_deploy_by WHEN current_user THEN 'current_user' ELSE s.last_deploy_by::text END AS last_deploy_by
  FROM migrate.status s;

-- an empty database: nothing to report, check() is silent, status is empty
SELECT * FROM problems;
SELECT migrate.check();
SELECT * FROM st;

-- pending revisions: check() lists them
SELECT migrate.add('v1', 'CREATE TABLE t_v1 (id int)', 'DROP TABLE t_v1', message => 'one');
SELECT migrate.add('v2', 'CREATE TABLE t_v2 (id int)', 'DROP TABLE t_v2', message => 'two');
SELECT migrate.add('v3', 'CREATE TABLE t_v3 (id int)', 'DROP TABLE t_v3', message => 'three', branch_labels => '{main}');
SELECT migrate.check();
SELECT * FROM st;
SELECT * FROM problems;
-- more than ten pending: ten are named, the rest counted
BEGIN;
SELECT count(migrate.add(format('p%s', to_char(i, 'FM00')), '')) AS added FROM generate_series(1, 12) AS i;
SELECT migrate.check();
ROLLBACK;

-- up to date: check() is silent
SELECT revision FROM migrate.upgrade('head');
SELECT migrate.check();
SELECT * FROM st;
-- the deploy lock held by this session, inside a transaction; released at
-- commit (a state-changing call and pg_advisory_xact_lock take the same lock)
BEGIN;
SELECT migrate.add('v4a', 'CREATE TABLE IF NOT EXISTS t_v4a (id int)', 'DROP TABLE IF EXISTS t_v4a', parents => '{v3}');
SELECT * FROM st;
COMMIT;
SELECT lock_holder FROM st;
BEGIN;
SELECT pg_advisory_xact_lock(migrate.lock_key());
SELECT lock_holder FROM st;
ROLLBACK;
SELECT lock_holder FROM st;

-- every kind of operation, then verify() is still empty
SELECT migrate.add('v4b', 'CREATE TABLE IF NOT EXISTS t_v4b (id int)', 'DROP TABLE IF EXISTS t_v4b', parents => '{v3}');
SELECT revision FROM migrate.upgrade('heads');
SELECT migrate.merge(message => 'join', id => 'v5');
SELECT revision FROM migrate.downgrade('main');
SELECT * FROM st;
SELECT migrate.stamp('heads');
SELECT * FROM st;
-- a deploy whose revision fails: its success = false row is committed
SELECT migrate.add('v6', 'CREATE TABLE t_v6 (id int); SELECT 1/0', 'DROP TABLE t_v6', message => 'six');
CALL migrate.deploy();
SELECT revision, success, sqlstate, error FROM migrate.history WHERE NOT success;
SELECT * FROM st;
SELECT * FROM problems;
-- replace the failed revision, add and remove another, deploy again
SELECT migrate.add('v6', 'CREATE TABLE t_v6 (id int)', 'DROP TABLE t_v6', message => 'six');
SELECT migrate.add('v7', '', '', parents => '{v6}');
SELECT migrate.remove('v7');
CALL migrate.deploy();
SELECT * FROM st;
SELECT migrate.check();
SELECT operation, count(*) FROM migrate.history GROUP BY operation ORDER BY operation;
SELECT * FROM problems;

-- What a superuser can do behind migrate's back, and what verify() says.
SELECT id AS first_id FROM migrate.history ORDER BY id LIMIT 1 \gset
SELECT id AS second_id FROM migrate.history ORDER BY id LIMIT 1 OFFSET 1 \gset
SELECT id AS third_id FROM migrate.history ORDER BY id LIMIT 1 OFFSET 2 \gset
SELECT id AS failed_id FROM migrate.history WHERE NOT success \gset
SELECT id AS after_failed_id FROM migrate.history WHERE id > :failed_id ORDER BY id LIMIT 1 \gset

-- 1. hide the failed deploy: the row no longer matches its hash
BEGIN;
UPDATE migrate.history SET success = true, sqlstate = NULL, error = NULL WHERE id = :failed_id;
SELECT * FROM problems;
SELECT detail = format('History row %s no longer matches its hash.', :failed_id) AS names_the_row
  FROM migrate.verify();
ROLLBACK;
-- 2. delete a middle row: the next row does not link to the one before
BEGIN;
DELETE FROM migrate.history WHERE id = :second_id;
SELECT * FROM problems;
SELECT detail ~ format('^History row %s does not link to row %s before it', :third_id, :first_id) AS names_the_rows
  FROM migrate.verify() WHERE problem = 'history chain broken';
ROLLBACK;
-- 3. delete the first row: the new first row links to a missing one
BEGIN;
DELETE FROM migrate.history WHERE id = :first_id;
SELECT * FROM problems;
SELECT detail ~ format('^History row %s is the first row', :second_id) AS names_the_row
  FROM migrate.verify() WHERE problem = 'history chain broken';
ROLLBACK;
-- 4. edit a row and recompute its own hash from the documented format: the
-- row matches, but the next row's link to it is broken
CREATE FUNCTION pg_temp.s(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v IS NULL THEN '-;' ELSE octet_length(v) || ':' || v || ';' END
$$;
CREATE FUNCTION pg_temp.row_hash(h migrate.history) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(pg_temp.s('migrate history v1')
         || pg_temp.s(h.operation_id::text) || pg_temp.s(h.operation)
         || pg_temp.s(h.revision) || pg_temp.s(h.target)
         || pg_temp.s(CASE WHEN h.success THEN 't' ELSE 'f' END)
         || pg_temp.s(h.sqlstate) || pg_temp.s(h.error)
         || pg_temp.s(((extract(epoch FROM h.started_at) - 946684800) * 1000000)::bigint::text)
         || pg_temp.s(extract(month FROM h.duration)::text)
         || pg_temp.s(extract(day FROM h.duration)::text)
         || pg_temp.s((extract(epoch FROM h.duration) * 1000000)::bigint::text)
         || pg_temp.s(h.session_role) || pg_temp.s(h.effective_role)
         || pg_temp.s(h.application_name) || pg_temp.s(h.client_addr::text)
         || pg_temp.s(h.backend_pid::text) || pg_temp.s(h.txid::text)
         || pg_temp.s(h.checksum) || pg_temp.s(h.prev_hash)
         || CASE WHEN h.detail IS NULL THEN ''
                 ELSE pg_temp.s('detail') || pg_temp.s(h.detail::text) END,
         current_setting('server_encoding'))), 'hex')
$$;
SELECT bool_and(pg_temp.row_hash(h) = h.hash) AS row_hash_matches FROM migrate.history h;
BEGIN;
UPDATE migrate.history SET success = true, sqlstate = NULL, error = NULL WHERE id = :failed_id;
UPDATE migrate.history h SET hash = pg_temp.row_hash(h) WHERE id = :failed_id;
SELECT * FROM problems;
SELECT detail ~ format('^History row %s does not link to row %s before it', :after_failed_id, :failed_id) AS names_the_rows
  FROM migrate.verify();
ROLLBACK;

-- 5. edit an applied revision's up SQL: its content no longer matches the
-- stored checksum (revision altered) nor the checksum it was applied with
-- (checksum drift); check() fails
SELECT checksum AS v2_sum FROM migrate.revision WHERE id = 'v2' \gset
BEGIN;
UPDATE migrate.revision SET up_sql = 'CREATE TABLE t_v2 (id bigint)' WHERE id = 'v2';
SELECT * FROM problems;
-- the details name the stored and applied checksums, and one same new one
SELECT count(*) FILTER (WHERE problem = 'revision altered'
                          AND detail LIKE '%, but the stored checksum is ' || :'v2_sum' || ':%') AS stored_named,
       count(*) FILTER (WHERE problem = 'checksum drift'
                          AND detail LIKE 'It was applied with checksum ' || :'v2_sum' || ';%') AS applied_named,
       count(DISTINCT substring(detail FROM 'content (?:now )?has checksum ([0-9a-f]{64})')) AS new_sums,
       bool_and(substring(detail FROM 'content (?:now )?has checksum ([0-9a-f]{64})') <> :'v2_sum') AS new_differs
  FROM migrate.verify();
SELECT migrate.check();
ROLLBACK;
-- its down SQL: the same
BEGIN;
UPDATE migrate.revision SET down_sql = NULL WHERE id = 'v2';
SELECT * FROM problems;
ROLLBACK;
-- 6. edit an unapplied revision's SQL: altered, but no drift, and check()
-- reports only what is pending
SELECT migrate.add('v8', 'CREATE TABLE t_v8 (id int)', 'DROP TABLE t_v8', message => 'eight');
BEGIN;
UPDATE migrate.revision SET up_sql = 'DROP TABLE t_v1' WHERE id = 'v8';
SELECT * FROM problems;
SELECT migrate.check();
ROLLBACK;
SELECT migrate.remove('v8');
-- 7. delete the applied row of a middle revision: its child is applied
-- without it; check() reports it as pending
BEGIN;
DELETE FROM migrate.applied WHERE revision = 'v2';
SELECT * FROM problems;
SELECT migrate.check();
ROLLBACK;
-- 8. mark an unknown revision applied, bypassing the foreign key
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO migrate.applied VALUES ('ghost', now(), 'regress_nobody', repeat('0', 64));
RESET session_replication_role;
SELECT * FROM problems;
ROLLBACK;
-- 9. corrupt migrate.revision_head: a head missing, a non-head listed
BEGIN;
DELETE FROM migrate.revision_head WHERE revision = 'v6';
INSERT INTO migrate.revision_head VALUES ('v1');
SELECT * FROM problems;
ROLLBACK;
-- 10. a parent that does not exist
BEGIN;
UPDATE migrate.revision SET parents = '{v0}' WHERE id = 'v1';
SELECT * FROM problems;
ROLLBACK;
-- 11. a cycle: v1 made a child of v3
BEGIN;
UPDATE migrate.revision SET parents = '{v3}' WHERE id = 'v1';
SELECT * FROM problems;
ROLLBACK;

-- 12. delete the newest rows, from the last upgrade on: the chain cannot
-- show it, but the applied set no longer matches the history
BEGIN;
DELETE FROM migrate.history
 WHERE id >= (SELECT min(id) FROM migrate.history
               WHERE operation_id = (SELECT operation_id FROM migrate.history
                                      WHERE operation = 'upgrade' AND success
                                      ORDER BY id DESC LIMIT 1))
RETURNING operation, revision, success;
SELECT * FROM problems;
ROLLBACK;

-- after every rollback the database is clean again
SELECT * FROM problems;
SELECT migrate.check();

-- clean up the tables the revisions created
SELECT revision FROM migrate.downgrade('base');
SELECT count(*) AS tables_left FROM pg_class WHERE relname LIKE 't\_v%';
SELECT * FROM st;
SELECT * FROM problems;
