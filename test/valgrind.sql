-- The workload of test/valgrind: every function of migrate once, in a
-- single-user backend (each line is one statement).
CREATE EXTENSION migrate;
SELECT migrate.add('a1', 'CREATE TABLE t1 (id int)', 'DROP TABLE t1');
SELECT migrate.add(NULL, '');
SELECT migrate.add('a2', 'CREATE TABLE t2 (id int); CREATE INDEX ON t2 (id)', 'DROP TABLE t2', branch_labels => '{b}');
SELECT migrate.add_script(E'-- migrate:revision a3\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n');
SELECT count(*) FROM migrate.upgrade('head');
SELECT count(*) FROM migrate.plan('downgrade', 'base');
SELECT count(*) FROM migrate.revisions('base:head');
SELECT migrate.script('a2');
SELECT length(migrate.upgrade_sql('head', 'base'));
SELECT count(*) FROM migrate.downgrade('-2');
SELECT migrate.stamp('heads');
SELECT count(*) FROM migrate.verify();
SELECT * FROM migrate.status;
SELECT migrate.merge(ARRAY['a1','a2']);
SELECT count(*) FROM migrate.upgrade('x1x1');
SELECT migrate.add('a4', 'SET search_path = pg_temp; CREATE TEMP TABLE left_behind (x int)', 'SELECT 1');
SELECT count(*) FROM migrate.upgrade('a4');
SELECT migrate.add('a4', 'DO $$BEGIN EXECUTE ''PREPARE p AS SELECT 1''; END$$; DECLARE c CURSOR WITH HOLD FOR SELECT 1; CLOSE c', 'SELECT 1');
SELECT count(*) FROM migrate.upgrade('a4');
SELECT migrate.add('a5', 'CREATE TABLE t5 (x int UNIQUE DEFERRABLE INITIALLY DEFERRED); INSERT INTO t5 VALUES (1)', 'DROP TABLE t5', parents => '{}');
SELECT migrate.approve('a5');
SELECT count(*) FROM migrate.upgrade('a5');
SELECT migrate.add('a6', E'SELECT ''a\\'', $x$'' \\! id $x$', parents => '{}');
