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
