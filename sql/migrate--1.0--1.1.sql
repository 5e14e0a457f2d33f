/* migrate--1.0--1.1.sql: from version 1.0 to 1.1.  1.0 is released: its
 * script is never edited; every change of 1.1 to a catalog or a function
 * goes here, and sql/update.sql checks that a 1.0 database survives it. */

\echo Use "ALTER EXTENSION migrate UPDATE TO '1.1'" to load this file. \quit

-- History operations of 1.1: approve (migrate.approve()).
ALTER TABLE migrate.history DROP CONSTRAINT history_operation_check;
ALTER TABLE migrate.history ADD CONSTRAINT history_operation_check
    CHECK (operation OPERATOR(pg_catalog.=) ANY
           ('{add,replace,remove,upgrade,downgrade,stamp,approve}'::text[]));
COMMENT ON COLUMN migrate.history.operation IS 'add, replace, remove, upgrade, downgrade, stamp or approve';

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
