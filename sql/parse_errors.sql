-- Up and down SQL are parsed when added: syntax errors (42601), and
-- statements that cannot run in a transaction block (25001) in a revision
-- marked transactional => true, are refused then, naming the revision and the
-- line, and nothing is registered.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;

-- Invalid input: syntax errors, in up and in down, with their line
SELECT migrate.add('p1', 'CREAT TABLE t (id int)');
SELECT migrate.add('p1', E'CREATE TABLE t_p1 (id int);\n\nALTER TABLE t_p1 ADD COLUMN;');
SELECT migrate.add('p1', 'CREATE TABLE t_p1 (id int)', 'DROP TABLE t_p1 t_p1');
SELECT migrate.add('p1', E'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $ LANGUAGE sql;');
SELECT migrate.add('p1', E'SELECT \'unterminated');
SELECT migrate.add(NULL, 'SELEC 1');
-- a statement's line is that of its first word, after the comments before it
SELECT migrate.add('p1', E'CREATE TABLE t_p1 (id int);\n/* an index,\n   built concurrently */ -- why\nCREATE INDEX CONCURRENTLY i_p1 ON t_p1 (id);', transactional => true);
SELECT migrate.add('p1', E'SELECT 1;\n/* no role\n   change */ SET ROLE postgres;');

-- Invalid input: statements that cannot run inside a transaction block, in
-- revisions marked transactional
SELECT migrate.add('p1', E'CREATE TABLE t_p1 (id int);\nCREATE INDEX CONCURRENTLY i_p1 ON t_p1 (id);', transactional => true);
SELECT migrate.add('p1', 'SELECT 1', 'DROP INDEX CONCURRENTLY i_p1', transactional => true);
SELECT migrate.add('p1', 'REINDEX (CONCURRENTLY) TABLE t_p1', transactional => true);
SELECT migrate.add('p1', 'REINDEX TABLE CONCURRENTLY t_p1', transactional => true);
SELECT migrate.add('p1', 'REINDEX DATABASE regression', transactional => true);
SELECT migrate.add('p1', 'VACUUM', transactional => true);
SELECT migrate.add('p1', 'VACUUM (ANALYZE) t_p1', transactional => true);
SELECT migrate.add('p1', 'CREATE DATABASE p1', transactional => true);
SELECT migrate.add('p1', 'DROP DATABASE p1', transactional => true);
SELECT migrate.add('p1', E'CREATE TABLESPACE p1 LOCATION \'/tmp\'', transactional => true);
SELECT migrate.add('p1', 'DROP TABLESPACE p1', transactional => true);
SELECT migrate.add('p1', E'ALTER SYSTEM SET work_mem = \'8MB\'', transactional => true);
SELECT migrate.add('p1', 'CLUSTER', transactional => true);
SELECT migrate.add('p1', 'DISCARD ALL', transactional => true);
SELECT migrate.add('p1', 'ALTER TABLE t_parent DETACH PARTITION t_child CONCURRENTLY', transactional => true);
-- transaction control of every kind
SELECT migrate.add('p1', 'BEGIN; CREATE TABLE t_p1 (id int); COMMIT;');
SELECT migrate.add('p1', 'COMMIT');
SELECT migrate.add('p1', 'ROLLBACK');
SELECT migrate.add('p1', 'SAVEPOINT s1');
SELECT migrate.add('p1', 'START TRANSACTION');
-- COPY from the client has no client to read from
SELECT migrate.add('p1', 'COPY t_p1 FROM STDIN');
SELECT count(*) FROM migrate.revision;
SELECT count(*) FROM migrate.history;

-- the transactional forms are accepted, and so are the keywords inside
-- strings, comments and function bodies
SELECT migrate.add('p2', $sql$
CREATE TABLE t_p2 (id int, note text DEFAULT 'VACUUM; COMMIT; CREATE INDEX CONCURRENTLY');
-- CREATE INDEX CONCURRENTLY i ON t_p2 (id);
CREATE INDEX i_p2 ON t_p2 (id);
ANALYZE t_p2;
CLUSTER t_p2 USING i_p2;
REINDEX TABLE t_p2;
DISCARD TEMP;
CREATE FUNCTION f_p2() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM 1; END $$;
$sql$, 'DROP TABLE t_p2; DROP FUNCTION f_p2();', parents => '{}');
-- an empty revision and a comment-only one are markers
SELECT migrate.add('p3', '', '');
SELECT migrate.add('p4', '-- nothing to do', '/* nothing */');
SELECT revision FROM migrate.upgrade('head');
SELECT count(*) FROM pg_class WHERE relname IN ('t_p2', 'i_p2');
SELECT revision FROM migrate.downgrade('base');
SELECT count(*) FROM pg_class WHERE relname IN ('t_p2', 'i_p2');

-- errors at run time are still possible (the parser cannot see the schema):
-- they keep their SQLSTATE and name the revision and line
SELECT migrate.add('p5', E'CREATE TABLE t_p5 (id int);\n\nINSERT INTO t_missing VALUES (1);', 'DROP TABLE t_p5');
SELECT revision FROM migrate.upgrade('head');
-- after a block comment too: the line and the statement start at its first word
SELECT migrate.add('p6', E'SELECT 1;\n/* a comment\n   over two lines */\nINSERT INTO t_missing VALUES (1);', parents => '{p4}');
SELECT revision FROM migrate.upgrade('p6');
SELECT migrate.remove('p6');
SELECT count(*) FROM pg_class WHERE relname = 't_p5';
SELECT count(*) FROM migrate.applied;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
