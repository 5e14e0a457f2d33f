/* migrate--1.0.sql: catalogs and functions of the migrate extension */

\echo Use "CREATE EXTENSION migrate" to load this file. \quit

-- Created here rather than through the control file's "schema" so that
-- CREATE EXTENSION fails when a schema named migrate already exists: a
-- pre-created schema could otherwise capture the catalogs.
CREATE SCHEMA migrate;
COMMENT ON SCHEMA migrate IS 'schema migrations kept inside the database';
REVOKE ALL ON SCHEMA migrate FROM PUBLIC;

-- The revision graph.
CREATE TABLE migrate.revision (
    id            text        NOT NULL PRIMARY KEY,
    parents       text[]      NOT NULL DEFAULT '{}',
    depends_on    text[]      NOT NULL DEFAULT '{}',
    branch_labels text[]      NOT NULL DEFAULT '{}',
    message       text        NOT NULL DEFAULT '',
    up_sql        text        NOT NULL,
    down_sql      text,
    checksum      text        NOT NULL,
    created_at    timestamptz NOT NULL,
    created_by    name        NOT NULL,
    CONSTRAINT revision_id_check CHECK (
        id OPERATOR(pg_catalog.~) '^[A-Za-z0-9_][A-Za-z0-9_.]{0,127}$'
        AND id OPERATOR(pg_catalog.<>) ALL ('{head,heads,base,current}'::text[]))
);
COMMENT ON TABLE migrate.revision IS 'the revision graph: one row per revision with its up and down SQL';
COMMENT ON COLUMN migrate.revision.id IS 'the revision''s name: letters, digits, _ and ., not head, heads, base or current';
COMMENT ON COLUMN migrate.revision.parents IS 'down revisions; {} for a root, two or more for a merge';
COMMENT ON COLUMN migrate.revision.depends_on IS 'revisions applied first without being parents';
COMMENT ON COLUMN migrate.revision.branch_labels IS 'names of the branch that starts here, unique across the graph';
COMMENT ON COLUMN migrate.revision.message IS 'one-line description';
COMMENT ON COLUMN migrate.revision.up_sql IS 'SQL run by upgrade, as the caller; '''' for a merge or marker';
COMMENT ON COLUMN migrate.revision.down_sql IS 'SQL run by downgrade, as the caller; NULL when the revision cannot be undone';
COMMENT ON COLUMN migrate.revision.checksum IS 'hex SHA-256 over id, parents, depends_on, up_sql and down_sql';
COMMENT ON COLUMN migrate.revision.created_at IS 'when it was added or last replaced';
COMMENT ON COLUMN migrate.revision.created_by IS 'the role that added it; only callers with that role''s privileges can run it';
-- Parents and depends_on are searched when a revision is removed or replaced;
-- labels on every add.  No fastupdate: a pending list is scanned linearly by
-- every search, which would make registering n revisions O(n^2).
CREATE INDEX revision_parents_idx ON migrate.revision USING gin (parents) WITH (fastupdate = off);
CREATE INDEX revision_depends_on_idx ON migrate.revision USING gin (depends_on) WITH (fastupdate = off);
CREATE INDEX revision_branch_labels_idx ON migrate.revision USING gin (branch_labels) WITH (fastupdate = off);

-- The graph heads, kept by add/remove so that adding a revision on top of the
-- single head and a no-op upgrade stay O(1) however large the graph is.
CREATE TABLE migrate.revision_head (
    revision text NOT NULL PRIMARY KEY REFERENCES migrate.revision (id)
);
COMMENT ON TABLE migrate.revision_head IS 'the graph heads (revisions that are no revision''s parent), maintained by migrate''s functions';
COMMENT ON COLUMN migrate.revision_head.revision IS 'a revision that no revision has as parent';

-- The applied set.
CREATE TABLE migrate.applied (
    revision   text        NOT NULL PRIMARY KEY REFERENCES migrate.revision (id),
    applied_at timestamptz NOT NULL,
    applied_by name        NOT NULL,
    checksum   text        NOT NULL
);
COMMENT ON TABLE migrate.applied IS 'one row per applied revision, with the checksum it had when applied';
COMMENT ON COLUMN migrate.applied.revision IS 'an applied revision; its parents and depends_on are applied too';
COMMENT ON COLUMN migrate.applied.applied_at IS 'when its up SQL started, or when it was stamped';
COMMENT ON COLUMN migrate.applied.applied_by IS 'the role in effect when it was applied';
COMMENT ON COLUMN migrate.applied.checksum IS 'the revision''s checksum when applied; verify() reports a difference';

-- The append-only audit history.
CREATE SEQUENCE migrate.history_id_seq;
CREATE SEQUENCE migrate.operation_id_seq;
COMMENT ON SEQUENCE migrate.operation_id_seq IS 'one value per migrate call: migrate.history.operation_id';
CREATE TABLE migrate.history (
    id               bigint      NOT NULL DEFAULT pg_catalog.nextval('migrate.history_id_seq') PRIMARY KEY,
    operation_id     bigint      NOT NULL,
    operation        text        NOT NULL CHECK (operation OPERATOR(pg_catalog.=) ANY
                                   ('{add,replace,remove,upgrade,downgrade,stamp}'::text[])),
    revision         text        NOT NULL,
    target           text,
    success          boolean     NOT NULL,
    sqlstate         text,
    error            text,
    started_at       timestamptz NOT NULL,
    duration         interval    NOT NULL,
    session_role     name        NOT NULL,
    effective_role   name        NOT NULL,
    application_name text,
    client_addr      inet,
    backend_pid      integer     NOT NULL,
    txid             xid8,
    checksum         text,
    prev_hash        text,
    hash             text        NOT NULL
);
ALTER SEQUENCE migrate.history_id_seq OWNED BY migrate.history.id;
COMMENT ON SEQUENCE migrate.history_id_seq IS 'migrate.history.id';
COMMENT ON TABLE migrate.history IS 'append-only audit log: one row per step on one revision, chained by SHA-256 hashes';
COMMENT ON COLUMN migrate.history.id IS 'the order of the rows, and of the hash chain';
COMMENT ON COLUMN migrate.history.operation_id IS 'the same for every row of one call (every transaction of one deploy)';
COMMENT ON COLUMN migrate.history.operation IS 'add, replace, remove, upgrade, downgrade or stamp';
COMMENT ON COLUMN migrate.history.revision IS 'the revision of this step';
COMMENT ON COLUMN migrate.history.target IS 'the target as the caller wrote it';
COMMENT ON COLUMN migrate.history.success IS 'false for a step whose SQL failed: its changes were rolled back';
COMMENT ON COLUMN migrate.history.sqlstate IS 'the failed step''s error code';
COMMENT ON COLUMN migrate.history.error IS 'the failed step''s error message';
COMMENT ON COLUMN migrate.history.started_at IS 'when the step started';
COMMENT ON COLUMN migrate.history.duration IS 'how long the step''s SQL ran';
COMMENT ON COLUMN migrate.history.session_role IS 'the role that logged in (session_user)';
COMMENT ON COLUMN migrate.history.effective_role IS 'the role in effect for the call (current_user), after any SET ROLE';
COMMENT ON COLUMN migrate.history.application_name IS 'the client''s application_name';
COMMENT ON COLUMN migrate.history.client_addr IS 'the client''s address; NULL over a Unix-domain socket';
COMMENT ON COLUMN migrate.history.backend_pid IS 'the server process that ran the step';
COMMENT ON COLUMN migrate.history.txid IS 'the transaction that wrote the row';
COMMENT ON COLUMN migrate.history.checksum IS 'the revision''s checksum at the step';
COMMENT ON COLUMN migrate.history.prev_hash IS 'the hash of the row before it; NULL for the first row';
COMMENT ON COLUMN migrate.history.hash IS 'hex SHA-256 over the row and prev_hash; verify() recomputes the chain';
CREATE INDEX history_operation_id_idx ON migrate.history (operation_id);
-- verify() looks up each revision's latest step
CREATE INDEX history_revision_idx ON migrate.history (revision, id);

SELECT pg_catalog.pg_extension_config_dump('migrate.revision', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.revision_head', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.applied', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.history', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.operation_id_seq', '');

-- Functions.  All are written in C; those that change state take the deploy
-- lock and write the catalogs as the extension's owner.

CREATE FUNCTION migrate.lock_key()
RETURNS bigint
AS 'MODULE_PATHNAME', 'migrate_lock_key'
LANGUAGE c IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION migrate.lock_key() IS 'the advisory lock key that serializes every state-changing migrate call';

CREATE FUNCTION migrate.add(id text, up text, down text DEFAULT NULL,
                            parents text[] DEFAULT NULL, message text DEFAULT '',
                            depends_on text[] DEFAULT '{}', branch_labels text[] DEFAULT '{}')
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_add'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.add(text, text, text, text[], text, text[], text[]) IS 'registers a revision (idempotent); returns its id';

CREATE FUNCTION migrate.remove(id text)
RETURNS void
AS 'MODULE_PATHNAME', 'migrate_remove'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.remove(text) IS 'deletes an unapplied revision that no revision references';

CREATE FUNCTION migrate.merge(revisions text[] DEFAULT NULL, message text DEFAULT 'merge',
                              id text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_merge'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.merge(text[], text, text) IS 'adds a merge revision whose parents are the given revisions (default: all graph heads)';

CREATE FUNCTION migrate.upgrade(target text DEFAULT 'head')
RETURNS TABLE (revision text, message text, duration interval)
AS 'MODULE_PATHNAME', 'migrate_upgrade'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.upgrade(text) IS 'applies every revision the target needs, in order, in the caller''s transaction';

CREATE FUNCTION migrate.downgrade(target text)
RETURNS TABLE (revision text, message text, duration interval)
AS 'MODULE_PATHNAME', 'migrate_downgrade'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.downgrade(text) IS 'runs the down SQL of every applied revision after the target, newest first';

CREATE FUNCTION migrate.stamp(target text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'migrate_stamp'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.stamp(text) IS 'sets the applied set to the target''s closure without running SQL; returns the new current heads';

CREATE FUNCTION migrate.current()
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'migrate_current'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.current() IS 'the current heads: applied revisions that no applied revision has as parent';

CREATE FUNCTION migrate.heads()
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'migrate_heads'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.heads() IS 'the graph heads: revisions that no revision has as parent';

CREATE FUNCTION migrate.revisions(range text DEFAULT NULL)
RETURNS TABLE (revision text, parents text[], message text, branch_labels text[],
               depends_on text[], is_applied boolean, is_head boolean, is_current boolean)
AS 'MODULE_PATHNAME', 'migrate_revisions'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.revisions(text) IS 'the revision graph, newest first; range A:B limits it';

CREATE FUNCTION migrate.show(revision text)
RETURNS TABLE (id text, parents text[], depends_on text[], branch_labels text[],
               message text, up_sql text, down_sql text, checksum text,
               created_at timestamptz, created_by name, children text[], is_applied boolean)
AS 'MODULE_PATHNAME', 'migrate_show'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.show(text) IS 'one revision with every column, its children and whether it is applied';

CREATE FUNCTION migrate.plan(operation text, target text)
RETURNS TABLE (step integer, revision text, operation text, message text)
AS 'MODULE_PATHNAME', 'migrate_plan'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.plan(text, text) IS 'what upgrade, downgrade or stamp would do, changing nothing';

CREATE FUNCTION migrate.verify()
RETURNS TABLE (problem text, revision text, detail text)
AS 'MODULE_PATHNAME', 'migrate_verify'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.verify() IS 'every integrity problem: checksum drift, altered revisions, a broken history chain, invariant violations';

CREATE FUNCTION migrate.check()
RETURNS void
AS 'MODULE_PATHNAME', 'migrate_check'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.check() IS 'raises 55000 unless every revision is applied and none changed since; silent otherwise';

-- Plain SQL over the catalogs, so that a role granted SELECT on the view
-- needs no EXECUTE on any function.  The lock key is migrate.lock_key()
-- split into the two oids pg_locks shows.
CREATE VIEW migrate.status AS
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
       d.effective_role AS last_deploy_by
  FROM (SELECT count(*) AS pending FROM migrate.revision r
         WHERE NOT EXISTS (SELECT 1 FROM migrate.applied a WHERE a.revision = r.id)) p
  LEFT JOIN (SELECT h.started_at, h.effective_role FROM migrate.history h
              WHERE h.operation IN ('upgrade', 'downgrade') AND h.success
              ORDER BY h.id DESC LIMIT 1) d ON true;
COMMENT ON VIEW migrate.status IS 'one row: current heads, graph heads, pending count, up_to_date, the deploy lock holder, the last successful deploy';
COMMENT ON COLUMN migrate.status.current_heads IS 'applied revisions that no applied revision has as parent';
COMMENT ON COLUMN migrate.status.heads IS 'the graph heads';
COMMENT ON COLUMN migrate.status.pending IS 'revisions not applied';
COMMENT ON COLUMN migrate.status.up_to_date IS 'true when every revision is applied';
COMMENT ON COLUMN migrate.status.lock_holder_pid IS 'the process holding the deploy lock, if any';
COMMENT ON COLUMN migrate.status.last_deploy_at IS 'start of the newest successful upgrade or downgrade step';
COMMENT ON COLUMN migrate.status.last_deploy_by IS 'the role in effect for that step';

CREATE FUNCTION migrate.add_script(script text)
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_add_script'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.add_script(text) IS 'registers a revision written as a migration file (-- migrate:revision, -- migrate:up, ...); returns its id';

CREATE FUNCTION migrate.script(revision text)
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_script'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.script(text) IS 'the revision as a migration file; add_script(script(r)) is a no-op';

CREATE FUNCTION migrate.add_dir(path text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'migrate_add_dir'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.add_dir(text) IS 'registers every *.sql migration file of a server directory, in file-name order (needs pg_read_server_files)';

CREATE FUNCTION migrate.upgrade_sql(target text DEFAULT 'head', start text DEFAULT 'current')
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_upgrade_sql'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.upgrade_sql(text, text) IS 'offline SQL: one psql script doing what upgrade(target) would, planned from start';

CREATE FUNCTION migrate.downgrade_sql(target text, start text DEFAULT 'current')
RETURNS text
AS 'MODULE_PATHNAME', 'migrate_downgrade_sql'
LANGUAGE c STABLE;
COMMENT ON FUNCTION migrate.downgrade_sql(text, text) IS 'offline SQL: one psql script doing what downgrade(target) would, planned from start';

CREATE FUNCTION migrate.offline_begin(operation text, target text, start text[])
RETURNS void
AS 'MODULE_PATHNAME', 'migrate_offline_begin'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.offline_begin(text, text, text[]) IS 'used by scripts from upgrade_sql/downgrade_sql: refuses a database not in the state the script starts from';

CREATE FUNCTION migrate.offline_step(revision text, checksum text)
RETURNS void
AS 'MODULE_PATHNAME', 'migrate_offline_step'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION migrate.offline_step(text, text) IS 'used by scripts from upgrade_sql/downgrade_sql: records one revision as applied or unapplied, with its history row';

-- Nothing is granted to PUBLIC: a DBA grants EXECUTE to deployer roles.
REVOKE ALL ON ALL TABLES IN SCHEMA migrate FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA migrate FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA migrate FROM PUBLIC;

CREATE PROCEDURE migrate.deploy(target text DEFAULT 'head')
AS 'MODULE_PATHNAME', 'migrate_deploy'
LANGUAGE c;
COMMENT ON PROCEDURE migrate.deploy(text) IS 'like upgrade, but commits after each revision; a failure is recorded in history before the error is raised';
REVOKE ALL ON PROCEDURE migrate.deploy(text) FROM PUBLIC;
