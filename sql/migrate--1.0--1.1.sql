/* migrate--1.0--1.1.sql: from version 1.0 to 1.1.  1.0 is released: its
 * script is never edited; every change of 1.1 to a catalog or a function
 * goes here, and sql/update.sql checks that a 1.0 database survives it. */

\echo Use "ALTER EXTENSION migrate UPDATE TO '1.1'" to load this file. \quit

-- History operations of 1.1: approve (migrate.approve()), amend (an applied
-- revision's text changed, its statements the same), repair
-- (migrate.repair()), adopt (migrate.adopt_alembic(), migrate.adopt_flyway())
-- and import (a row copied from another tool's history by an adoption).
ALTER TABLE migrate.history DROP CONSTRAINT history_operation_check;
ALTER TABLE migrate.history ADD CONSTRAINT history_operation_check
    CHECK (operation OPERATOR(pg_catalog.=) ANY
           ('{add,replace,remove,upgrade,downgrade,stamp,approve,amend,repair,adopt,import}'::text[]));
COMMENT ON COLUMN migrate.history.operation IS 'add, replace, remove, upgrade, downgrade, stamp, approve, amend, repair, adopt or import';

-- Ids as projects name them: "-" too (2019-02-26-002946_create_user).
ALTER TABLE migrate.revision DROP CONSTRAINT revision_id_check;
ALTER TABLE migrate.revision ADD CONSTRAINT revision_id_check CHECK (
    id OPERATOR(pg_catalog.~) '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'
    AND id OPERATOR(pg_catalog.<>) ALL ('{head,heads,base,current}'::text[]));
COMMENT ON COLUMN migrate.revision.id IS 'the revision''s name: letters, digits, _, . and -, not starting with . or -, not head, heads, base or current';

-- Approvals: a role holding a registrant's privileges approves its revision,
-- which then runs for callers whose privileges the approver holds.
CREATE FUNCTION migrate.approve(revision text, checksum text DEFAULT NULL)
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'migrate_approve';
REVOKE ALL ON FUNCTION migrate.approve(text, text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.approve(text, text) IS 'records that the calling role, holding the registrant''s privileges, approves the revision as it is now (checksum, if given, must match); returns the checksum approved';

-- --- migrate.history.detail ------------------------------------------------
-- add and replace rows record the revision's message, branch_labels and
-- created_by as they stored them, so that verify() can check those columns
-- (created_by is what the registrant rule trusts).  NULL in rows of other
-- operations and in rows written by 1.0; part of the row's hash only when
-- not NULL, so every 1.0 row keeps its hash.
ALTER TABLE migrate.history ADD COLUMN detail jsonb;
COMMENT ON COLUMN migrate.history.detail IS 'add and replace rows: the revision''s message, branch_labels and created_by as that row stored them; NULL otherwise and in rows written by version 1.0; part of the hash when not NULL';
COMMENT ON FUNCTION migrate.verify() IS 'every integrity problem: checksum drift, altered revisions or applied rows, a broken history chain, invariant violations';
-- --- end of migrate.history.detail -----------------------------------------

-- --- Non-transactional revisions --------------------------------------------
-- A revision holding a statement that cannot run inside a transaction block
-- (CREATE INDEX CONCURRENTLY, VACUUM, ...), or marked so, runs statement by
-- statement through CALL migrate.deploy() / CALL migrate.revert().
ALTER TABLE migrate.revision ADD COLUMN transactional boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN migrate.revision.transactional IS 'false: its statements run one by one, each in a transaction of its own (CALL migrate.deploy/revert); covered by the checksum when false';

-- Functions whose signature changes are dropped and created again; the
-- EXECUTE privileges granted on the old ones are granted on the new ones.
CREATE TEMPORARY TABLE migrate_update_grants AS
SELECT p.proname::text AS proname, a.grantee
  FROM pg_catalog.pg_proc p, LATERAL pg_catalog.aclexplode(p.proacl) a
 WHERE p.pronamespace = 'migrate'::regnamespace
   AND p.proname IN ('add', 'revisions', 'show', 'upgrade_sql')
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner;

ALTER EXTENSION migrate DROP FUNCTION migrate.add(text, text, text, text[], text, text[], text[]);
DROP FUNCTION migrate.add(text, text, text, text[], text, text[], text[]);
CREATE FUNCTION migrate.add(id text, up text, down text DEFAULT NULL,
                            parents text[] DEFAULT NULL, message text DEFAULT '',
                            depends_on text[] DEFAULT '{}', branch_labels text[] DEFAULT '{}',
                            transactional boolean DEFAULT NULL, lint_ignore text[] DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_add'
LANGUAGE c VOLATILE;
REVOKE ALL ON FUNCTION migrate.add(text, text, text, text[], text, text[], text[], boolean, text[]) FROM PUBLIC;
COMMENT ON FUNCTION migrate.add(text, text, text, text[], text, text[], text[], boolean, text[]) IS 'registers a revision (idempotent); transactional NULL: decided from its statements; lint_ignore: ''rule: reason'' entries; returns its id';

ALTER EXTENSION migrate DROP FUNCTION migrate.revisions(text);
DROP FUNCTION migrate.revisions(text);
CREATE FUNCTION migrate.revisions(range text DEFAULT NULL)
RETURNS TABLE (revision text, parents text[], message text, branch_labels text[],
               depends_on text[], is_applied boolean, is_head boolean, is_current boolean,
               is_transactional boolean)
AS 'MODULE_PATHNAME', 'migrate_revisions'
LANGUAGE c STABLE;
REVOKE ALL ON FUNCTION migrate.revisions(text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.revisions(text) IS 'the revision graph, newest first; range A:B limits it';

ALTER EXTENSION migrate DROP FUNCTION migrate.show(text);
DROP FUNCTION migrate.show(text);
CREATE FUNCTION migrate.show(revision text)
RETURNS TABLE (id text, parents text[], depends_on text[], branch_labels text[],
               message text, up_sql text, down_sql text, checksum text,
               created_at timestamptz, created_by name, children text[], is_applied boolean,
               transactional boolean)
AS 'MODULE_PATHNAME', 'migrate_show'
LANGUAGE c STABLE;
REVOKE ALL ON FUNCTION migrate.show(text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.show(text) IS 'one revision with every column, its children and whether it is applied';

-- upgrade_sql(..., register => true): a self-contained script that also
-- creates the extension where it is missing and registers the revisions.
ALTER EXTENSION migrate DROP FUNCTION migrate.upgrade_sql(text, text);
DROP FUNCTION migrate.upgrade_sql(text, text);
CREATE FUNCTION migrate.upgrade_sql(target text DEFAULT 'head', start text DEFAULT 'current',
                                    register boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_upgrade_sql'
LANGUAGE c STABLE;
REVOKE ALL ON FUNCTION migrate.upgrade_sql(text, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION migrate.upgrade_sql(text, text, boolean) IS 'offline SQL: one psql script doing what upgrade(target) would, planned from start; register: the script also creates the extension and registers the revisions, for an empty database';

DO $grants$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT * FROM migrate_update_grants LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s',
            CASE g.proname
                WHEN 'add' THEN 'migrate.add(text, text, text, text[], text, text[], text[], boolean, text[])'
                WHEN 'revisions' THEN 'migrate.revisions(text)'
                WHEN 'upgrade_sql' THEN 'migrate.upgrade_sql(text, text, boolean)'
                ELSE 'migrate.show(text)' END,
            CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
    END LOOP;
END
$grants$;
DROP TABLE migrate_update_grants;

-- CALL migrate.revert(target): downgrade, one transaction per revision.
CREATE PROCEDURE migrate.revert(target text)
AS 'MODULE_PATHNAME', 'migrate_revert'
LANGUAGE c;
REVOKE ALL ON PROCEDURE migrate.revert(text) FROM PUBLIC;
COMMENT ON PROCEDURE migrate.revert(text) IS 'like downgrade, but commits after each revision; a failure is recorded in history before the error is raised';
COMMENT ON PROCEDURE migrate.deploy(text) IS 'like upgrade, but commits after each revision and runs non-transactional revisions statement by statement; a failure is recorded in history before the error is raised';

-- The status view shows the deploy running a non-transactional revision.
CREATE OR REPLACE VIEW migrate.status AS
SELECT ARRAY(SELECT a.revision FROM migrate.applied a
              WHERE NOT EXISTS (SELECT 1 FROM migrate.applied c
                                  JOIN migrate.revision r ON r.id = c.revision
                                 WHERE r.parents @> ARRAY[a.revision])
              ORDER BY a.revision COLLATE "C") AS current_heads,
       ARRAY(SELECT h.revision FROM migrate.revision_head h
              ORDER BY h.revision COLLATE "C") AS heads,
       p.pending,
       p.pending = 0 AS up_to_date,
       (SELECT l.pid FROM pg_catalog.pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                              WHERE d.datname = pg_catalog.current_database())
           AND l.classid = 1835624306::oid AND l.objid = 1635017985::oid
           AND l.objsubid = 1
         LIMIT 1) AS lock_holder_pid,
       d.started_at AS last_deploy_at,
       d.effective_role AS last_deploy_by,
       ARRAY(SELECT r.id FROM migrate.revision r
              WHERE NOT r.transactional
                AND NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r.id)
              ORDER BY r.id COLLATE "C") AS pending_nontransactional,
       (SELECT l.pid FROM pg_catalog.pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.mode = 'ExclusiveLock'
           AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                              WHERE d.datname = pg_catalog.current_database())
           AND l.classid = 1835624306::oid AND l.objid = 1635017986::oid
           AND l.objsubid = 1
         LIMIT 1) AS step_holder_pid
  FROM (SELECT count(*) AS pending FROM migrate.revision r
         WHERE NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r.id)) p
  LEFT JOIN (SELECT h.started_at, h.effective_role FROM migrate.history h
              WHERE h.operation IN ('upgrade', 'downgrade') AND h.success
              ORDER BY h.id DESC LIMIT 1) d ON true;
COMMENT ON COLUMN migrate.status.pending_nontransactional IS 'revisions not applied that only CALL migrate.deploy() can apply';
COMMENT ON COLUMN migrate.status.step_holder_pid IS 'the deploy or revert running a non-transactional revision outside a transaction, if any';
-- --- end of non-transactional revisions -------------------------------------

-- --- Real projects move in ------------------------------------------------
-- repair: an applied revision's SQL replaced without running it.
CREATE FUNCTION migrate.repair(revision text, up text, down text DEFAULT NULL)
RETURNS text
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'migrate_repair';
REVOKE ALL ON FUNCTION migrate.repair(text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.repair(text, text, text) IS 'replaces an applied revision''s up and down SQL without running them (down NULL: irreversible), as add() would register them; returns the new checksum';

-- --- end of real projects move in -----------------------------------------

-- --- Adoption: the state another tool recorded, taken over -----------------
-- Both read the other tool's table as the caller and need a database with
-- nothing applied; their rows are "adopt" (a revision marked applied) and
-- "import" (a row of Flyway's history, copied).
CREATE FUNCTION migrate.adopt_alembic(version_table text DEFAULT 'alembic_version')
RETURNS text[]
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'migrate_adopt_alembic';
REVOKE ALL ON FUNCTION migrate.adopt_alembic(text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.adopt_alembic(text) IS 'stamps the registered revisions to the heads listed in Alembic''s version table; returns the new current heads';

CREATE FUNCTION migrate.adopt_flyway(history_table text DEFAULT 'flyway_schema_history')
RETURNS text[]
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'migrate_adopt_flyway';
REVOKE ALL ON FUNCTION migrate.adopt_flyway(text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.adopt_flyway(text) IS 'marks applied the registered revisions matching Flyway''s successful versioned migrations, and imports Flyway''s history rows; returns the revisions marked applied';

COMMENT ON COLUMN migrate.history.detail IS 'add, replace, amend and repair rows: the revision''s message, branch_labels and created_by as that row stored them (amend and repair rows: also old_checksum and new_checksum); adopt rows: where the state came from; import rows: the other tool''s row; NULL otherwise and in rows written by version 1.0; part of the hash when not NULL';
-- --- end of adoption --------------------------------------------------------

-- --- Lint ------------------------------------------------------------------
-- A revision's SQL against the live catalog (README, "Lint and lock-safe
-- execution").  lint_ignore: the rules a revision ignores, each with its
-- reason; not covered by the checksum (it changes nothing that runs), but
-- recorded in the detail of the add, replace, amend or repair row.
ALTER TABLE migrate.revision ADD COLUMN lint_ignore text[];
COMMENT ON COLUMN migrate.revision.lint_ignore IS 'lint rules the revision ignores, as ''rule: reason'' entries; not covered by the checksum; recorded in the history detail of the row that set it';

CREATE FUNCTION migrate.lint_sql(sql text)
RETURNS TABLE (rule text, severity text, line integer, statement text, relation text,
               estimated_rows bigint, size bigint, message text, hint text)
AS 'MODULE_PATHNAME', 'migrate_lint_sql'
LANGUAGE c VOLATILE;
REVOKE ALL ON FUNCTION migrate.lint_sql(text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.lint_sql(text) IS 'the lint findings of SQL against the live catalog: statements that lock or rewrite tables holding rows, and breaking changes';

CREATE FUNCTION migrate.lint(revision text, down boolean DEFAULT false)
RETURNS TABLE (rule text, severity text, line integer, statement text, relation text,
               estimated_rows bigint, size bigint, message text, hint text)
AS 'MODULE_PATHNAME', 'migrate_lint'
LANGUAGE c VOLATILE;
REVOKE ALL ON FUNCTION migrate.lint(text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION migrate.lint(text, boolean) IS 'the lint findings of a revision''s up SQL (down SQL with down) against the live catalog, less the rules it ignores';
-- --- end of lint -------------------------------------------------------------

-- log: migrate.history for people, one row per call (issue 16).
-- Plain SQL over the history, so that a role granted SELECT on the view
-- needs nothing else, as for migrate.status.
CREATE VIEW migrate.log AS
SELECT c.operation_id,
       f.started_at,
       CASE WHEN f.effective_role = f.session_role THEN f.session_role::text
            ELSE f.session_role::text || ' as ' || f.effective_role::text END AS who,
       (SELECT string_agg(o.operation, ', ' ORDER BY o.first_id)
          FROM (SELECT h.operation, min(h.id) AS first_id FROM migrate.history h
                 WHERE h.operation_id = c.operation_id GROUP BY h.operation) o) AS operation,
       f.target,
       c.revisions,
       c.duration,
       c.elapsed,
       c.success,
       (SELECT h.sqlstate || ': ' || h.error FROM migrate.history h
         WHERE h.operation_id = c.operation_id AND NOT h.success
         ORDER BY h.id LIMIT 1) AS error
  FROM (SELECT h.operation_id, min(h.id) AS first_id,
               coalesce(array_agg(h.revision ORDER BY h.id) FILTER (WHERE h.revision <> ''), '{}') AS revisions,
               sum(h.duration) AS duration,
               max(h.started_at + h.duration) - min(h.started_at) AS elapsed,
               bool_and(h.success) AS success
          FROM migrate.history h GROUP BY h.operation_id) c
  JOIN migrate.history f ON f.id = c.first_id
 ORDER BY c.first_id;
COMMENT ON VIEW migrate.log IS 'migrate.history for people: one row per call (operation_id), in the order of their first rows';
COMMENT ON COLUMN migrate.log.operation_id IS 'the call: migrate.history.operation_id';
COMMENT ON COLUMN migrate.log.started_at IS 'when the call''s first row started';
COMMENT ON COLUMN migrate.log.who IS 'the role that logged in, and " as " the role in effect when SET ROLE made it another';
COMMENT ON COLUMN migrate.log.operation IS 'the operations of the call''s rows, in the order they first appear (deploy and revert write upgrade and downgrade rows)';
COMMENT ON COLUMN migrate.log.target IS 'the target as the caller wrote it, NULL for add, replace and remove';
COMMENT ON COLUMN migrate.log.revisions IS 'the revisions of the call''s rows, in history order; empty for a call about none (drift, accept)';
COMMENT ON COLUMN migrate.log.duration IS 'the sum of the steps'' durations: how long their SQL ran';
COMMENT ON COLUMN migrate.log.elapsed IS 'from the start of the first step to the end of the last, commits and lock waits between steps included';
COMMENT ON COLUMN migrate.log.success IS 'whether every step succeeded';
COMMENT ON COLUMN migrate.log.error IS 'the SQLSTATE and message of the first failed step, if any';
-- --- end of log --------------------------------------------------------------
-- lintplan: plan() shows each step's lint findings (issue 17), a new OUT
-- column; plan(text, text) is created again and the EXECUTE privileges
-- granted on 1.0's are granted on the new one.
CREATE TEMPORARY TABLE migrate_update_plan_grants AS
SELECT a.grantee
  FROM pg_catalog.pg_proc p, LATERAL pg_catalog.aclexplode(p.proacl) a
 WHERE p.pronamespace = 'migrate'::regnamespace AND p.proname = 'plan'
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner;

ALTER EXTENSION migrate DROP FUNCTION migrate.plan(text, text);
DROP FUNCTION migrate.plan(text, text);
CREATE FUNCTION migrate.plan(operation text, target text)
RETURNS TABLE (step integer, revision text, operation text, message text, findings text[])
AS 'MODULE_PATHNAME', 'migrate_plan'
LANGUAGE c STABLE;
REVOKE ALL ON FUNCTION migrate.plan(text, text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.plan(text, text) IS 'what upgrade, downgrade or stamp would do, changing nothing; findings: the lint findings of the SQL each step runs (NULL for a stamp step)';

DO $plan_grants$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT * FROM migrate_update_plan_grants LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION migrate.plan(text, text) TO %s',
            CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
    END LOOP;
END
$plan_grants$;
DROP TABLE migrate_update_plan_grants;
-- --- end of lintplan ---------------------------------------------------------
-- drift: the schema model (src/schemamodel.c), the model recorded by
-- migrate's own steps, and what differs from it (README, "Drift").
CREATE FUNCTION migrate.schema_model(schemas text[] DEFAULT NULL)
RETURNS TABLE (kind text, identity text, definition text)
AS 'MODULE_PATHNAME', 'migrate_schema_model'
LANGUAGE c STABLE;
REVOKE ALL ON FUNCTION migrate.schema_model(text[]) FROM PUBLIC;
COMMENT ON FUNCTION migrate.schema_model(text[]) IS 'the managed schemas (default: migrate.drift_schemas, or every schema but the system ones, migrate''s and the extensions'') as objects: kind, schema-qualified identity, definition; ordered by kind and identity';

CREATE FUNCTION migrate.schema_fingerprint(schemas text[] DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_schema_fingerprint'
LANGUAGE c STABLE;
REVOKE ALL ON FUNCTION migrate.schema_fingerprint(text[]) FROM PUBLIC;
COMMENT ON FUNCTION migrate.schema_fingerprint(text[]) IS 'hex SHA-256 of the sum of the SHA-256 of each object of schema_model(schemas)';

-- The model as migrate's own steps left it: a call that runs revisions
-- replaces the recorded objects of the relations, functions, types and
-- schemas its revisions touched (the event triggers collect them) with their
-- live ones, so a change made outside migrate to anything else stays drift
-- until accept_drift().  One row per root holds that root's objects as
-- parallel arrays: a deploy writes a row and its index entries per table it
-- touched, not per column, constraint and index.  An index has a row of its
-- own (key 'i:' and its identity, root its table's): its name is unique in
-- its schema but not tied to its table, and the key keeps it recorded once.
-- Rows 'm:...' hold one object of kind 'model': 'm:' marks that a model was
-- recorded, 'm:sum' keeps the sum behind the fingerprint, 'm:epoch' the
-- database the root OIDs belong to.  Dumped with the extension, so a
-- restored database shows no drift.  Keys and kinds compare bytes (COLLATE
-- "C"), as the model orders objects.
CREATE TABLE migrate.schema_root (
    key         text COLLATE "C" PRIMARY KEY,
    root        text NOT NULL,
    root_oid    oid,
    kinds       text[] COLLATE "C" NOT NULL,
    identities  text[] COLLATE "C" NOT NULL,
    schemas     text[] NOT NULL,
    definitions text[] NOT NULL,
    CHECK (pg_catalog.cardinality(kinds) OPERATOR(pg_catalog.=) pg_catalog.cardinality(identities)
           AND pg_catalog.cardinality(kinds) OPERATOR(pg_catalog.=) pg_catalog.cardinality(schemas)
           AND pg_catalog.cardinality(kinds) OPERATOR(pg_catalog.=) pg_catalog.cardinality(definitions))
);
CREATE INDEX schema_root_root_oid_idx ON migrate.schema_root (root_oid);
COMMENT ON TABLE migrate.schema_root IS 'the schema model as migrate''s steps (and accept_drift()) left it, one row per root (an index: per index); migrate.schema_object lists its objects';
COMMENT ON COLUMN migrate.schema_root.key IS 'the root; ''i:'' and the identity of an index; or ''m:'' and the name of a value of the record (''m:'' marks that a model was recorded)';
COMMENT ON COLUMN migrate.schema_root.root IS 'the relation (r:), function (p:), type (t:) or schema (n:) the objects belong to';
COMMENT ON COLUMN migrate.schema_root.root_oid IS 'that root''s OID in this database (looked up again by name after a restore)';
COMMENT ON COLUMN migrate.schema_root.kinds IS 'each object''s kind, as schema_model() names it';
COMMENT ON COLUMN migrate.schema_root.identities IS 'each object''s schema-qualified, quoted name';
COMMENT ON COLUMN migrate.schema_root.schemas IS 'the schema each object is in';
COMMENT ON COLUMN migrate.schema_root.definitions IS 'each object''s definition, as schema_model() gives it';
SELECT pg_catalog.pg_extension_config_dump('migrate.schema_root', '');

CREATE VIEW migrate.schema_object AS
SELECT o.kind, o.identity, o.schema, o.definition, r.root, r.root_oid
  FROM migrate.schema_root r
 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(r.kinds), pg_catalog.unnest(r.identities), pg_catalog.unnest(r.schemas), pg_catalog.unnest(r.definitions))
       AS o (kind, identity, schema, definition);
COMMENT ON VIEW migrate.schema_object IS 'the recorded schema model, one row per object (the arrays of migrate.schema_root); the row (''model'', '''') marks that one was recorded';
COMMENT ON COLUMN migrate.schema_object.kind IS 'the object''s kind, as schema_model() names it';
COMMENT ON COLUMN migrate.schema_object.identity IS 'its schema-qualified, quoted name';
COMMENT ON COLUMN migrate.schema_object.schema IS 'the schema it is in';
COMMENT ON COLUMN migrate.schema_object.definition IS 'its definition, as schema_model() gives it';
COMMENT ON COLUMN migrate.schema_object.root IS 'the relation (r:), function (p:), type (t:) or schema (n:) it belongs to';
COMMENT ON COLUMN migrate.schema_object.root_oid IS 'that root''s OID in this database (looked up again by name after a restore)';

-- History operations: accept (accept_drift()) and drift (DDL run outside
-- migrate, recorded by the event trigger).
ALTER TABLE migrate.history DROP CONSTRAINT history_operation_check;
ALTER TABLE migrate.history ADD CONSTRAINT history_operation_check
    CHECK (operation OPERATOR(pg_catalog.=) ANY
           ('{add,replace,remove,upgrade,downgrade,stamp,approve,amend,repair,adopt,import,accept,drift}'::text[]));
COMMENT ON COLUMN migrate.history.operation IS 'add, replace, remove, upgrade, downgrade, stamp, approve, amend, repair, adopt, import, accept or drift';

CREATE FUNCTION migrate.drift()
RETURNS TABLE (kind text, identity text, change text, recorded text, live text, detail text)
AS 'MODULE_PATHNAME', 'migrate_drift'
LANGUAGE c STABLE;
REVOKE ALL ON FUNCTION migrate.drift() FROM PUBLIC;
COMMENT ON FUNCTION migrate.drift() IS 'what differs from the schema model migrate recorded, object by object (added, removed, changed), and the applied revisions that were stamped (their SQL never ran here)';

-- status.drift; EXECUTE stays with PUBLIC, as for lock_key(), so that every
-- role that may read the status view still can.
CREATE FUNCTION migrate.drift_count()
RETURNS integer
AS 'MODULE_PATHNAME', 'migrate_drift_count'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.drift_count() IS 'the number of rows of drift(); NULL when migrate.track_drift is off';

CREATE FUNCTION migrate.accept_drift(reason text)
RETURNS integer
AS 'MODULE_PATHNAME', 'migrate_accept_drift'
LANGUAGE c VOLATILE;
REVOKE ALL ON FUNCTION migrate.accept_drift(text) FROM PUBLIC;
COMMENT ON FUNCTION migrate.accept_drift(text) IS 'records the drift in a history row (accept) with the reason, and makes the live schema model the recorded one; returns how many drift rows it accepted';

CREATE OR REPLACE VIEW migrate.status AS
SELECT ARRAY(SELECT a.revision FROM migrate.applied a
              WHERE NOT EXISTS (SELECT 1 FROM migrate.applied c
                                  JOIN migrate.revision r ON r.id = c.revision
                                 WHERE r.parents @> ARRAY[a.revision])
              ORDER BY a.revision COLLATE "C") AS current_heads,
       ARRAY(SELECT h.revision FROM migrate.revision_head h
              ORDER BY h.revision COLLATE "C") AS heads,
       p.pending,
       p.pending = 0 AS up_to_date,
       (SELECT l.pid FROM pg_catalog.pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                              WHERE d.datname = pg_catalog.current_database())
           AND l.classid = 1835624306::oid AND l.objid = 1635017985::oid
           AND l.objsubid = 1
         LIMIT 1) AS lock_holder_pid,
       d.started_at AS last_deploy_at,
       d.effective_role AS last_deploy_by,
       ARRAY(SELECT r.id FROM migrate.revision r
              WHERE NOT r.transactional
                AND NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r.id)
              ORDER BY r.id COLLATE "C") AS pending_nontransactional,
       (SELECT l.pid FROM pg_catalog.pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.mode = 'ExclusiveLock'
           AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                              WHERE d.datname = pg_catalog.current_database())
           AND l.classid = 1835624306::oid AND l.objid = 1635017986::oid
           AND l.objsubid = 1
         LIMIT 1) AS step_holder_pid,
       migrate.drift_count() AS drift
  FROM (SELECT count(*) AS pending FROM migrate.revision r
         WHERE NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r.id)) p
  LEFT JOIN (SELECT h.started_at, h.effective_role FROM migrate.history h
              WHERE h.operation IN ('upgrade', 'downgrade') AND h.success
              ORDER BY h.id DESC LIMIT 1) d ON true;
COMMENT ON COLUMN migrate.status.drift IS 'rows of migrate.drift(): objects that differ from the recorded schema model, and stamped revisions; NULL when migrate.track_drift is off';

-- DDL run outside migrate, recorded as it happens (src/ddlevent.c): the
-- event triggers stage each statement here, as the extension owner, without
-- waiting for any lock a deploy holds; the next migrate call that writes
-- history moves the staged events into migrate.history as drift rows.
CREATE TABLE migrate.drift_event (
    id               bigserial   PRIMARY KEY,
    at               timestamptz NOT NULL,
    session_role     name        NOT NULL,
    effective_role   name        NOT NULL,
    application_name text,
    client_addr      inet,
    backend_pid      integer     NOT NULL,
    txid             xid8        NOT NULL,
    event            text        NOT NULL,
    command_tag      text        NOT NULL,
    objects          jsonb       NOT NULL,
    statement        text
);
COMMENT ON TABLE migrate.drift_event IS 'DDL run outside migrate, staged by the event triggers until the next migrate call moves it into migrate.history (operation drift)';
COMMENT ON COLUMN migrate.drift_event.event IS 'ddl_command_end or sql_drop; paused or resumed when migrate.record_drift was turned off or on';
COMMENT ON COLUMN migrate.drift_event.objects IS 'the objects of the command: [{"type": ..., "identity": ...}]';
COMMENT ON COLUMN migrate.drift_event.statement IS 'the statement as the client sent it, when known';
SELECT pg_catalog.pg_extension_config_dump('migrate.drift_event', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.drift_event_id_seq', '');

CREATE FUNCTION migrate.record_ddl()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'migrate_record_ddl'
LANGUAGE c;
REVOKE ALL ON FUNCTION migrate.record_ddl() FROM PUBLIC;
COMMENT ON FUNCTION migrate.record_ddl() IS 'the event triggers'' function: stages DDL run outside migrate''s revisions in migrate.drift_event';
CREATE EVENT TRIGGER migrate_record_ddl ON ddl_command_end EXECUTE FUNCTION migrate.record_ddl();
CREATE EVENT TRIGGER migrate_record_drop ON sql_drop EXECUTE FUNCTION migrate.record_ddl();
COMMENT ON EVENT TRIGGER migrate_record_ddl IS 'records DDL run outside migrate (migrate.record_drift)';
COMMENT ON EVENT TRIGGER migrate_record_drop IS 'records DROPs run outside migrate (migrate.record_drift)';

-- diff: the schema diff and autogenerate (issue 19; README, "Autogenerate").
-- diff() only reads (renames are applied in a subtransaction it rolls back);
-- autogenerate() registers a revision through add()'s path.
CREATE FUNCTION migrate.diff(from_schema text, to_schema text, renames text[] DEFAULT '{}',
                             allow_destructive boolean DEFAULT false)
RETURNS TABLE (direction text, ordinal integer, kind text, identity text, statement text)
AS 'MODULE_PATHNAME', 'migrate_diff'
LANGUAGE c;
REVOKE ALL ON FUNCTION migrate.diff(text, text, text[], boolean) FROM PUBLIC;
COMMENT ON FUNCTION migrate.diff(text, text, text[], boolean) IS 'the statements that turn from_schema into to_schema (direction up) and back (down), in order, named with from_schema''s name; renames: ''old:new'' relations and ''table.old:table.new'' columns; destructive changes refused (22023) unless allow_destructive';

CREATE FUNCTION migrate.autogenerate(id text, message text DEFAULT '', from_schema text DEFAULT 'public',
                                     to_schema text DEFAULT NULL, renames text[] DEFAULT '{}',
                                     allow_destructive boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_autogenerate'
LANGUAGE c;
REVOKE ALL ON FUNCTION migrate.autogenerate(text, text, text, text, text[], boolean) FROM PUBLIC;
COMMENT ON FUNCTION migrate.autogenerate(text, text, text, text, text[], boolean) IS 'registers, as add() does (parents: the single head), a revision whose up SQL is diff(from_schema, to_schema)''s up statements and whose down SQL its down statements; returns its id; runs nothing';
