-- adopt_alembic() and adopt_flyway(): a database that Alembic or Flyway
-- managed is taken over.  The other tool's table is resolved as the caller
-- names it and read with the caller's privileges; the registered revisions
-- it says ran are marked applied, parents first, one "adopt" history row
-- each; adopt_flyway() first copies every row of Flyway's history as an
-- "import" row.  Only a database with nothing applied can adopt.  Each case
-- starts from stamp('base'), and verify() is empty after each adoption.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
SET TimeZone = 'UTC';
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_adopt;
DROP SCHEMA IF EXISTS alembic CASCADE;
RESET client_min_messages;
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied;
-- the rows of the latest call, deterministic columns only: started_at of
-- import rows (Flyway's installed_on), "sum" whether the checksum is the
-- revision's; applied_at and applied_by must be the adopt row's
CREATE TEMP VIEW last_call AS
SELECT h.operation, h.revision, h.target, h.success,
       CASE WHEN h.operation = 'import' THEN h.started_at::text END AS started_at,
       h.duration,
       CASE h.session_role WHEN session_user THEN 'session_user' ELSE h.session_role::text END AS session_role,
       CASE h.effective_role WHEN session_user THEN 'session_user' ELSE h.effective_role::text END AS effective_role,
       CASE WHEN h.checksum IS NULL THEN NULL
            WHEN h.checksum = r.checksum THEN 'current' ELSE 'other' END AS sum,
       CASE WHEN h.operation = 'adopt'
            THEN a.applied_at = h.started_at AND a.applied_by = h.effective_role END AS applied_row,
       h.detail
  FROM migrate.history h
  LEFT JOIN migrate.revision r ON r.id = h.revision
  LEFT JOIN migrate.applied a ON a.revision = h.revision
 WHERE h.operation_id = (SELECT max(operation_id) FROM migrate.history)
 ORDER BY h.id;

-- ---------------------------------------------------------------- Alembic
-- Alembic's revisions, registered as converted files would register them:
-- ae1027a6acf <- 1975ea83b712 <- 27c6a30d7c24, and a branch
-- 1975ea83b712 <- d3f1e2a4b5c6 that depends on a root of its own,
-- f00dcafe0001
SELECT migrate.add('ae1027a6acf', 'CREATE TABLE account (id int)', 'DROP TABLE account', parents => '{}');
SELECT migrate.add('1975ea83b712', 'ALTER TABLE account ADD name text', 'ALTER TABLE account DROP name');
SELECT migrate.add('27c6a30d7c24', 'ALTER TABLE account ADD email text', 'ALTER TABLE account DROP email');
SELECT migrate.add('f00dcafe0001', 'CREATE TABLE audit (id int)', 'DROP TABLE audit', parents => '{}');
SELECT migrate.add('d3f1e2a4b5c6', 'ALTER TABLE account ADD audit_id int', 'ALTER TABLE account DROP audit_id',
                   parents => '{1975ea83b712}', depends_on => '{f00dcafe0001}');

-- the version table as Alembic creates it
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- one head: its ancestors are stamped, parents first
INSERT INTO alembic_version VALUES ('1975ea83b712');
SELECT migrate.adopt_alembic();
SELECT * FROM state;
SELECT * FROM last_call;
SELECT * FROM migrate.verify();
-- Not in prerequisite state: a second adoption (something is applied)
SELECT migrate.adopt_alembic();

-- two heads (branches): the closure of both, depends_on included
SELECT migrate.stamp('base');
DELETE FROM alembic_version;
INSERT INTO alembic_version VALUES ('27c6a30d7c24'), ('d3f1e2a4b5c6');
SELECT migrate.adopt_alembic('alembic_version');
SELECT * FROM state;
SELECT operation, revision, detail FROM last_call;
SELECT * FROM migrate.verify();
-- upgrade finds nothing to do
SELECT * FROM migrate.upgrade('heads');

-- errors change nothing: the applied set is empty after each
SELECT migrate.stamp('base');
-- Undefined object: ids that are not registered, all named
DELETE FROM alembic_version;
INSERT INTO alembic_version VALUES ('27c6a30d7c24'), ('deadbeef0000'), ('cafebabe0000');
SELECT migrate.adopt_alembic();
-- Not in prerequisite state: a head and its ancestor listed together
DELETE FROM alembic_version;
INSERT INTO alembic_version VALUES ('27c6a30d7c24'), ('ae1027a6acf');
SELECT migrate.adopt_alembic();
-- Undefined table: no such table, and the hint
SELECT migrate.adopt_alembic('no_such_version');
-- Invalid name: the text is a name, never SQL
SELECT migrate.adopt_alembic('alembic_version; DROP TABLE account');
-- Undefined column: a table that is not Alembic's
CREATE TABLE not_alembic (version text);
SELECT migrate.adopt_alembic('not_alembic');
-- Wrong object type: a sequence
CREATE SEQUENCE not_a_table;
SELECT migrate.adopt_alembic('not_a_table');
-- Invalid parameter value: NULL
SELECT migrate.adopt_alembic(NULL);
SELECT * FROM state;

-- an empty version table: Alembic applied nothing; a notice, no row
DELETE FROM alembic_version;
SELECT count(*) AS rows_before FROM migrate.history \gset
SELECT migrate.adopt_alembic();
SELECT count(*) - :rows_before AS new_rows FROM migrate.history;

-- a schema-qualified name, and one found on the search_path; a quoted name
CREATE SCHEMA alembic;
CREATE TABLE alembic."Version ""Table""" (version_num varchar(32) NOT NULL PRIMARY KEY);
INSERT INTO alembic."Version ""Table""" VALUES ('d3f1e2a4b5c6');
SELECT migrate.adopt_alembic('"Version ""Table"""');
SET search_path = alembic, public;
SELECT migrate.adopt_alembic('"Version ""Table"""');
RESET search_path;
SELECT operation, revision, target, detail FROM last_call;
SELECT * FROM migrate.verify();

-- the caller's privileges: EXECUTE is not enough to read another's table
SELECT migrate.stamp('base');
CREATE ROLE regress_adopt;
GRANT USAGE ON SCHEMA migrate, alembic TO regress_adopt;
GRANT EXECUTE ON FUNCTION migrate.adopt_alembic(text) TO regress_adopt;
SET ROLE regress_adopt;
SELECT migrate.adopt_alembic('alembic."Version ""Table"""');
RESET ROLE;
GRANT SELECT ON alembic."Version ""Table""" TO regress_adopt;
SET ROLE regress_adopt;
SELECT migrate.adopt_alembic('alembic."Version ""Table"""');
RESET ROLE;
SELECT operation, revision, session_role, effective_role, applied_row FROM last_call;
SELECT * FROM migrate.verify();
REVOKE ALL ON alembic."Version ""Table""" FROM regress_adopt;
REVOKE ALL ON FUNCTION migrate.adopt_alembic(text) FROM regress_adopt;
REVOKE USAGE ON SCHEMA migrate, alembic FROM regress_adopt;
DROP ROLE regress_adopt;

-- ----------------------------------------------------------------- Flyway
-- Flyway's files, converted and registered: V1__init.sql, V1_1__add_users.sql,
-- V2__add_email.sql, the Java migration db.migration.V3__fill and the
-- pending V4__index.sql, each the parent of the next
SELECT migrate.stamp('base');
SELECT migrate.add('V1__init', 'CREATE TABLE item (id int)', 'DROP TABLE item', parents => '{}');
SELECT migrate.add('V1_1__add_users', 'CREATE TABLE users (id int)', 'DROP TABLE users', parents => '{V1__init}');
SELECT migrate.add('V2__add_email', 'ALTER TABLE users ADD email text', 'ALTER TABLE users DROP email', parents => '{V1_1__add_users}');
SELECT migrate.add('V3__fill', 'INSERT INTO item VALUES (1)', 'DELETE FROM item', parents => '{V2__add_email}');
SELECT migrate.add('V4__index', 'CREATE INDEX ON item (id)', NULL, parents => '{V3__fill}');

-- the schema history table exactly as Flyway creates it on PostgreSQL
CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");

-- what Flyway's migrations made
CREATE TABLE item (id int);
-- versioned rows, a repeatable one, a Java one, and a failed V4 (an
-- installed_by too long for a name on row 3)
INSERT INTO flyway_schema_history VALUES
  (1, '1', 'init', 'SQL', 'V1__init.sql', 1234567, 'app', '2024-01-02 10:00:00', 31, true),
  (2, '1.1', 'add users', 'SQL', 'V1_1__add_users.sql', -98765, 'app', '2024-01-02 10:00:01', 12, true),
  (3, '2', 'add email', 'SQL', 'V2__add_email.sql', 42, repeat('x', 70), '2024-02-03 11:30:00', 5, true),
  (4, NULL, 'views', 'SQL', 'R__views.sql', 777, 'app', '2024-02-03 11:30:01', 3, true),
  (5, '3', 'fill', 'JDBC', 'db.migration.V3__fill', NULL, 'deployer', '2024-03-04 12:00:00', 250, true),
  (6, '4', 'index', 'SQL', 'V4__index.sql', 99, 'app', '2024-04-05 13:00:00', 1000, false);
-- Not in prerequisite state: a failed migration, as Flyway refuses it
SELECT migrate.adopt_flyway();
-- flyway repair deletes the failed row
DELETE FROM flyway_schema_history WHERE NOT success;
SELECT migrate.adopt_flyway();
SELECT * FROM state;
SELECT * FROM last_call;
SELECT * FROM migrate.verify();
-- Not in prerequisite state: a second adoption
SELECT migrate.adopt_flyway('public.flyway_schema_history');
-- the pending revision runs
SELECT revision FROM migrate.upgrade('V4__index');
DROP TABLE item;

-- an undone version (UNDO_SQL) and a deleted one (DELETE) are not applied
SELECT migrate.stamp('base');
CREATE TABLE undo_history (LIKE flyway_schema_history INCLUDING ALL);
INSERT INTO undo_history VALUES
  (1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'app', '2024-01-02 10:00:00', 1, true),
  (2, '1.1', 'add users', 'SQL', 'V1_1__add_users.sql', 2, 'app', '2024-01-02 10:00:01', 1, true),
  (3, '2', 'add email', 'SQL', 'V2__add_email.sql', 3, 'app', '2024-01-02 10:00:02', 1, true),
  (4, '3', 'fill', 'JDBC', 'db.migration.V3__fill', NULL, 'app', '2024-01-02 10:00:03', 1, true),
  (5, '3', 'fill', 'DELETE', 'db.migration.V3__fill', NULL, 'app', '2024-01-02 10:00:04', 0, true),
  (6, '2', 'add email', 'UNDO_SQL', 'U2__add_email.sql', 4, 'app', '2024-01-02 10:00:05', 1, true);
SELECT migrate.adopt_flyway('undo_history');
SELECT operation, revision, sum, detail FROM last_call;
SELECT * FROM migrate.verify();

-- a baseline: the registered revisions named at or below its version are applied
SELECT migrate.stamp('base');
CREATE TABLE baseline_history (LIKE flyway_schema_history INCLUDING ALL);
INSERT INTO baseline_history VALUES
  (1, '1.1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'app', '2024-01-02 10:00:00', 0, true),
  (2, '2', 'add email', 'SQL', 'V2__add_email.sql', 3, 'app', '2024-01-03 10:00:00', 7, true);
SELECT migrate.adopt_flyway('baseline_history');
SELECT operation, revision, sum, detail FROM last_call;
SELECT * FROM migrate.verify();

-- errors change nothing
SELECT migrate.stamp('base');
-- Undefined object: an applied migration without a revision
CREATE TABLE unknown_history (LIKE flyway_schema_history INCLUDING ALL);
INSERT INTO unknown_history VALUES
  (1, '1', 'init', 'SQL', 'sql/V1__init.sql', 1, 'app', '2024-01-02 10:00:00', 1, true),
  (2, '9', 'missing', 'SQL', 'sql/V9__missing.sql', 9, 'app', '2024-01-02 10:00:01', 1, true);
SELECT migrate.adopt_flyway('unknown_history');
-- Not in prerequisite state: V2 applied without V1.1 (outOfOrder, or skipped)
CREATE TABLE skipped_history (LIKE flyway_schema_history INCLUDING ALL);
INSERT INTO skipped_history VALUES
  (1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'app', '2024-01-02 10:00:00', 1, true),
  (2, '2', 'add email', 'SQL', 'V2__add_email.sql', 3, 'app', '2024-01-02 10:00:01', 1, true);
SELECT migrate.adopt_flyway('skipped_history');
-- Undefined column: Alembic's table is not Flyway's
SELECT migrate.adopt_flyway('alembic_version');
-- Undefined table, and NULL
SELECT migrate.adopt_flyway('flyway.flyway_schema_history');
SELECT migrate.adopt_flyway(NULL);
SELECT * FROM state;
-- history rows: adopt and import rows are part of the chain
SELECT operation, count(*) FROM migrate.history
 WHERE operation IN ('adopt', 'import') GROUP BY 1 ORDER BY 1;
SELECT * FROM migrate.verify();

-- leave nothing behind for the tests that follow
DROP TABLE alembic_version, not_alembic, flyway_schema_history, undo_history,
           baseline_history, unknown_history, skipped_history;
DROP SEQUENCE not_a_table;
DROP SCHEMA alembic CASCADE;
