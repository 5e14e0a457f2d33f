SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- migrate.log: migrate.history for people, one row per call (operation_id),
-- ordered by the call's first row.  Times vary: started_at is compared with
-- the first row's, durations are checked, not shown; the session user is
-- shown as "session_user".
\set VERBOSITY default
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_migrate_log_deployer;
DROP ROLE IF EXISTS regress_migrate_log_auditor;
RESET client_min_messages;
CREATE ROLE regress_migrate_log_deployer;
GRANT USAGE ON SCHEMA migrate TO regress_migrate_log_deployer;
GRANT EXECUTE ON FUNCTION migrate.upgrade(text), migrate.stamp(text) TO regress_migrate_log_deployer;
GRANT EXECUTE ON PROCEDURE migrate.deploy(text) TO regress_migrate_log_deployer;
GRANT CREATE ON SCHEMA public TO regress_migrate_log_deployer;

CREATE TEMP VIEW calls AS
SELECT row_number() OVER () AS call,
       regexp_replace(l.who, '^' || session_user || '( as |$)', 'session_user\1') AS who,
       l.operation, l.target, l.revisions, l.success, l.error
  FROM migrate.log l;

-- nothing yet
SELECT count(*) AS calls FROM migrate.log;
-- three adds, one call each
SELECT migrate.add('l1', 'CREATE TABLE t_l1 (id int)', 'DROP TABLE t_l1', message => 'one');
SELECT migrate.add('l2', 'CREATE TABLE t_l2 (id int)', 'DROP TABLE t_l2', message => 'two');
SELECT migrate.add('l3', 'CREATE TABLE t_l3 (id int); SELECT 1/0', 'DROP TABLE t_l3', message => 'three fails');
-- an upgrade of two revisions in one transaction: one call, two revisions
SELECT revision FROM migrate.upgrade('l2');
-- a downgrade, a stamp that adds and one that removes
SELECT revision FROM migrate.downgrade('l1');
SELECT migrate.stamp('l2');
SELECT migrate.stamp('l1');
-- under SET ROLE: who names both roles; a deploy that fails at l3 after
-- committing l2: one call, success false, the failed step's error
SET ROLE regress_migrate_log_deployer;
CALL migrate.deploy('l3');
RESET ROLE;
-- add_script registers a file (an add row), a merge is an add row
SELECT migrate.add_script(E'-- migrate:revision l4\n-- migrate:parents l1\n-- migrate:up\nSELECT 4;\n');
SELECT migrate.merge(message => 'join', id => 'l5');
SELECT * FROM calls;

-- one row per operation_id, in the order of the calls' first rows; the
-- first row's time; duration is the steps' sum, elapsed their span
SELECT count(*) = (SELECT count(DISTINCT operation_id) FROM migrate.history) AS one_per_call,
       bool_and(l.started_at = (SELECT h.started_at FROM migrate.history h
                                 WHERE h.operation_id = l.operation_id ORDER BY h.id LIMIT 1)) AS first_time,
       bool_and(l.duration = (SELECT sum(h.duration) FROM migrate.history h
                               WHERE h.operation_id = l.operation_id)) AS duration_sum,
       bool_and(l.elapsed >= l.duration AND l.duration >= '0') AS elapsed_span
  FROM migrate.log l;
SELECT array_agg(operation_id) = array_agg(operation_id ORDER BY operation_id) AS ordered_by_call
  FROM migrate.log;

-- the auditor reads the view with SELECT on it alone, as migrate.status
CREATE ROLE regress_migrate_log_auditor;
GRANT USAGE ON SCHEMA migrate TO regress_migrate_log_auditor;
SET ROLE regress_migrate_log_auditor;
SELECT count(*) FROM migrate.log;
RESET ROLE;
GRANT SELECT ON migrate.log TO regress_migrate_log_auditor;
SET ROLE regress_migrate_log_auditor;
SELECT count(*) AS calls FROM migrate.log;
SELECT count(*) FROM migrate.history;
RESET ROLE;

-- cleanup
DROP TABLE t_l1, t_l2;
REVOKE ALL ON migrate.log FROM regress_migrate_log_auditor;
REVOKE ALL ON SCHEMA migrate FROM regress_migrate_log_auditor, regress_migrate_log_deployer;
REVOKE ALL ON FUNCTION migrate.upgrade(text), migrate.stamp(text) FROM regress_migrate_log_deployer;
REVOKE ALL ON PROCEDURE migrate.deploy(text) FROM regress_migrate_log_deployer;
REVOKE CREATE ON SCHEMA public FROM regress_migrate_log_deployer;
DROP ROLE regress_migrate_log_auditor, regress_migrate_log_deployer;
