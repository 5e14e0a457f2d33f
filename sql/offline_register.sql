SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- Self-contained offline SQL: upgrade_sql(target, start, register => true)
-- writes a script that also creates the extension where it is missing and
-- registers every revision the target needs (migrate.add() calls, their SQL
-- in dollar quotes whose tag occurs in none of it), before the steps and
-- under the same guard.  With register, start 'current' is base.  Running
-- such scripts with psql on empty databases is test/t/033_offline_register.pl.
\set VERBOSITY default
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied,
       (SELECT count(*) FROM migrate.history) AS history,
       ARRAY(SELECT relname::text FROM pg_class
             WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY relname) AS tables;

-- the graph: r1 (labelled main) <- r2 <- r3, which depends on b1, a second
-- root; r4 merges r3 and b1 and has no SQL; r5 is irreversible; r6 is
-- non-transactional.  r2's SQL holds $$, $migrate$ and $migrate1$ (so the
-- tag is $migrate2$), and strings that look like tags but are not ours.
SELECT migrate.add('r1', 'CREATE TABLE t_r1 (id int, v text)', 'DROP TABLE t_r1',
                   message => 'first', branch_labels => '{main}');
SELECT migrate.add('b1', 'CREATE TABLE t_b1 (id int)', 'DROP TABLE t_b1', parents => '{}',
                   message => 'other root');
SELECT migrate.add('r2', $sql$CREATE FUNCTION f_r2() RETURNS text LANGUAGE sql
AS $$SELECT '$migrate$ $migrate1$ $migrate01$ $migrate $migrateX$'::text$$;
-- a comment: $migrate1$$migrate$$$
$sql$, 'DROP FUNCTION f_r2()', parents => '{r1}', message => 'a function holding $$ and tags');
SELECT migrate.add('r3', E'INSERT INTO t_r1 VALUES (1, ''it''''s'');\nINSERT INTO t_b1 VALUES (1);',
                   E'DELETE FROM t_b1;\nDELETE FROM t_r1;', parents => '{r2}', depends_on => '{b1}',
                   message => 'data: it''s "quoted", with \ a backslash');
SELECT migrate.add('r4', '', '', parents => '{r3,b1}', message => 'merge');
SELECT migrate.add('r5', 'CREATE TABLE t_r5 (id int)', parents => '{r4}', message => 'irreversible');
SELECT migrate.add('r6', 'CREATE INDEX CONCURRENTLY t_r5_id ON t_r5 (id)',
                   'DROP INDEX CONCURRENTLY t_r5_id', message => 'an index, non-transactional');
SELECT id, parents, depends_on, branch_labels, transactional, down_sql IS NULL AS irreversible
  FROM migrate.show('r6')
UNION ALL
SELECT r.id, r.parents, r.depends_on, r.branch_labels, r.transactional, r.down_sql IS NULL
  FROM migrate.revision r WHERE r.id <> 'r6' ORDER BY 1;
SELECT * FROM state;

\pset format unaligned
\pset tuples_only on
-- to r5: one transaction (the extension, the registrations, the steps)
-- under one guard; the registrations in the order add() accepts them
SELECT migrate.upgrade_sql('r5', register => true);
-- to head: r6 runs outside a transaction, so the registrations commit on
-- their own, guarded by the last revision, then the parts as usual
SELECT migrate.upgrade_sql('head', register => true);
-- from a start: only what r3 needs is registered (not r4 and beyond)
SELECT migrate.upgrade_sql('r3', 'r2', register => true);
-- nothing to do from r3 to r2: registrations and the start check, no guard
SELECT migrate.upgrade_sql('r2', 'r3', register => true);
\pset tuples_only off
\pset format aligned
-- generating changed nothing
SELECT * FROM state;

-- with register => false, the script of 1.0's upgrade_sql(target, start)
SELECT migrate.upgrade_sql('r3', 'r1', false) = migrate.upgrade_sql('r3', 'r1') AS same,
       strpos(migrate.upgrade_sql('r3', 'r1'), 'migrate.add(') AS has_add;
-- with register, start 'current' is base, whatever is applied here
SELECT revision FROM migrate.upgrade('r2');
SELECT line FROM regexp_split_to_table(migrate.upgrade_sql('r3', register => true), E'\n') AS line
 WHERE line LIKE '-- migrate:%' OR line LIKE '%offline_begin(%';
SELECT line FROM regexp_split_to_table(migrate.upgrade_sql('r3'), E'\n') AS line
 WHERE line LIKE '-- migrate:%' OR line LIKE '%offline_begin(%';
SELECT migrate.upgrade_sql('r3', 'base', true) = migrate.upgrade_sql('r3', register => true) AS same;
-- the version created is the one installed here
SELECT strpos(migrate.upgrade_sql('r3', register => true),
              format('CREATE EXTENSION IF NOT EXISTS migrate VERSION %L;', extversion)) > 0 AS pinned
  FROM pg_extension WHERE extname = 'migrate';

-- Invalid input: register NULL
SELECT migrate.upgrade_sql('head', 'base', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: the other errors are those of upgrade_sql()
SELECT migrate.upgrade_sql('base', register => true);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.upgrade_sql('head', 'nope', register => true);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- downgrade_sql() has no register
SELECT migrate.downgrade_sql('base', 'head', register => true);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- what the online upgrade made goes, for the tests that follow
SELECT revision FROM migrate.downgrade('base');
SELECT * FROM state;
DROP VIEW state;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
