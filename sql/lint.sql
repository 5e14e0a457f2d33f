-- Lint: migrate.lint_sql() and migrate.lint() read the raw parse trees and
-- the live catalog.  Each rule, its positive and negative case, on tables
-- of 0, 10,000 and 1,000,000 rows (analyzed; real rows, one 1,000,000-row
-- table shared by the rules): a notice below
-- migrate.lint_warn_rows (10000), a warning from it, an error from
-- migrate.lint_error_rows (1000000).  Then add(): findings of severity
-- warning or error as WARNINGs, migrate.lint = error refusing, lint_ignore
-- and the "-- migrate:lint-ignore" header, stored and recorded.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
SHOW migrate.lint;
SHOW migrate.lint_warn_rows;
SHOW migrate.lint_error_rows;

CREATE TABLE lint_parent (id int PRIMARY KEY);
CREATE TABLE lint_0 (id int NOT NULL PRIMARY KEY, a int, b varchar(10), p int, n numeric(8,2));
CREATE TABLE lint_10k (LIKE lint_0 INCLUDING ALL);
CREATE TABLE lint_1m (LIKE lint_0 INCLUDING ALL);
INSERT INTO lint_10k SELECT i, i, 'x', i, i % 1000 FROM generate_series(1, 10000) i;
INSERT INTO lint_1m SELECT i, i, 'x', i, i % 1000 FROM generate_series(1, 1000000) i;
CREATE UNIQUE INDEX lint_0_a ON lint_0 (a);
CREATE UNIQUE INDEX lint_10k_a ON lint_10k (a);
CREATE UNIQUE INDEX lint_1m_a ON lint_1m (a);
-- in the catalog: a validated CHECK proving p not null, one not validated for n
ALTER TABLE lint_0 ADD CONSTRAINT lint_0_p_nn CHECK (p IS NOT NULL), ADD CONSTRAINT lint_0_n_nn CHECK (n IS NOT NULL) NOT VALID;
ALTER TABLE lint_10k ADD CONSTRAINT lint_10k_p_nn CHECK (p IS NOT NULL), ADD CONSTRAINT lint_10k_n_nn CHECK (n IS NOT NULL) NOT VALID;
ALTER TABLE lint_1m ADD CONSTRAINT lint_1m_p_nn CHECK (p IS NOT NULL), ADD CONSTRAINT lint_1m_n_nn CHECK (n IS NOT NULL) NOT VALID;
ANALYZE lint_parent, lint_0, lint_10k, lint_1m;

-- every case on every table: %1$I is the table; SET lock_timeout first
-- except in the lock_timeout cases
CREATE TABLE lint_case (n int, name text, sql text);
INSERT INTO lint_case VALUES
 (1, 'index', 'CREATE INDEX ON %1$I (b)'),
 (2, 'index concurrently', 'CREATE INDEX CONCURRENTLY ON %1$I (b)'),
 (3, 'volatile default', 'ALTER TABLE %1$I ADD COLUMN c timestamptz DEFAULT clock_timestamp()'),
 (4, 'serial', 'ALTER TABLE %1$I ADD COLUMN c bigserial'),
 (5, 'constant default', 'ALTER TABLE %1$I ADD COLUMN c int DEFAULT 0'),
 (6, 'stable default', 'ALTER TABLE %1$I ADD COLUMN c timestamptz DEFAULT now()'),
 (7, 'type int to bigint', 'ALTER TABLE %1$I ALTER COLUMN a TYPE bigint'),
 (8, 'type longer varchar', 'ALTER TABLE %1$I ALTER COLUMN b TYPE varchar(20)'),
 (9, 'type varchar to text', 'ALTER TABLE %1$I ALTER COLUMN b TYPE text'),
 (10, 'type shorter varchar', 'ALTER TABLE %1$I ALTER COLUMN b TYPE varchar(5)'),
 (11, 'type wider numeric', 'ALTER TABLE %1$I ALTER COLUMN n TYPE numeric(12,2)'),
 (12, 'type USING', 'ALTER TABLE %1$I ALTER COLUMN b TYPE varchar(20) USING b || ''y'''),
 (13, 'set not null', 'ALTER TABLE %1$I ALTER COLUMN a SET NOT NULL'),
 (14, 'set not null checked', 'ALTER TABLE %1$I ADD CONSTRAINT c_nn CHECK (a IS NOT NULL) NOT VALID; ALTER TABLE %1$I VALIDATE CONSTRAINT c_nn; ALTER TABLE %1$I ALTER COLUMN a SET NOT NULL'),
 (15, 'set not null already', 'ALTER TABLE %1$I ALTER COLUMN id SET NOT NULL'),
 (16, 'foreign key', 'ALTER TABLE %1$I ADD FOREIGN KEY (p) REFERENCES lint_parent'),
 (17, 'foreign key not valid, indexed', 'CREATE INDEX CONCURRENTLY ON %1$I (p); ALTER TABLE %1$I ADD FOREIGN KEY (p) REFERENCES lint_parent NOT VALID'),
 (18, 'foreign key on the key', 'ALTER TABLE %1$I ADD FOREIGN KEY (id) REFERENCES lint_parent NOT VALID'),
 (19, 'check', 'ALTER TABLE %1$I ADD CHECK (a > 0)'),
 (20, 'check not valid', 'ALTER TABLE %1$I ADD CHECK (a > 0) NOT VALID'),
 (21, 'unique', 'ALTER TABLE %1$I ADD UNIQUE (a)'),
 (22, 'unique using index', 'ALTER TABLE %1$I ADD CONSTRAINT u UNIQUE USING INDEX %1$s_a'),
 (23, 'vacuum full', 'VACUUM (FULL) %1$I'),
 (24, 'vacuum', 'VACUUM %1$I'),
 (25, 'cluster', 'CLUSTER %1$I USING %1$s_pkey'),
 (26, 'drop table', 'DROP TABLE %1$I'),
 (27, 'drop column', 'ALTER TABLE %1$I DROP COLUMN b'),
 (28, 'rename table', 'ALTER TABLE %1$I RENAME TO x'),
 (29, 'rename column', 'ALTER TABLE %1$I RENAME COLUMN b TO c'),
 (30, 'select', 'SELECT count(*) FROM %1$I');
INSERT INTO lint_case VALUES
 (31, 'no lock_timeout', 'ALTER TABLE %1$I ADD COLUMN d int'),
 (32, 'lock_timeout 0', 'SET lock_timeout = 0; ALTER TABLE %1$I ADD COLUMN d int'),
 (33, 'lock_timeout reset', 'SET lock_timeout = ''1s''; RESET lock_timeout; ALTER TABLE %1$I ADD COLUMN d int');
INSERT INTO lint_case VALUES
 (34, 'identity', 'ALTER TABLE %1$I ADD COLUMN c int GENERATED ALWAYS AS IDENTITY'),
 (35, 'stored generated', 'ALTER TABLE %1$I ADD COLUMN c int GENERATED ALWAYS AS (a + 1) STORED'),
 (36, 'set not null, validated check in the catalog', 'ALTER TABLE %1$I ALTER COLUMN p SET NOT NULL'),
 (37, 'set not null, check not valid in the catalog', 'ALTER TABLE %1$I ALTER COLUMN n SET NOT NULL'),
 (38, 'cluster of a table created before', 'CREATE TABLE %1$s_copy (LIKE %1$I INCLUDING ALL); CLUSTER %1$s_copy USING %1$s_copy_pkey'),
 (39, 'drop of a table created before', 'CREATE TABLE %1$s_copy (id int); DROP TABLE %1$s_copy');
UPDATE lint_case SET sql = 'SET lock_timeout = ''2s''; ' || sql WHERE n <= 30 OR n >= 34;

SELECT c.n, c.name, t AS "table",
       coalesce(string_agg(l.rule || ' ' || l.severity, ', ' ORDER BY l.rule), '-') AS findings
  FROM lint_case c CROSS JOIN unnest('{lint_0,lint_10k,lint_1m}'::text[]) AS t
  LEFT JOIN LATERAL migrate.lint_sql(format(c.sql, t)) l ON true
 GROUP BY c.n, c.name, t ORDER BY c.n, t;

-- a finding's columns: the line of its statement, the relation, its size
SELECT rule, severity, line, statement, relation, estimated_rows, size > 30000000 AS size_over_30mb,
       message, hint
  FROM migrate.lint_sql(E'SET lock_timeout = ''2s'';\n\n-- the email index\nCREATE INDEX lint_1m_b\n  ON lint_1m (b);');
-- a long statement is shortened
SELECT statement FROM migrate.lint_sql('ALTER TABLE lint_1m ADD COLUMN a_very_long_column_name_for_the_statement int DEFAULT random()::int');

-- a relation created earlier in the same SQL is empty: no finding; one an
-- earlier revision creates (not in the catalog) neither
SELECT * FROM migrate.lint_sql('CREATE TABLE n (id int, p int); CREATE INDEX ON n (id);
  ALTER TABLE n ALTER COLUMN id TYPE bigint, ADD CHECK (id > 0); DROP TABLE n');
SELECT * FROM migrate.lint_sql('CREATE TABLE n AS SELECT 1 AS id; ALTER TABLE n RENAME COLUMN id TO k');
SELECT rule, severity, relation, estimated_rows FROM migrate.lint_sql('CREATE INDEX ON not_yet (a); DROP TABLE not_yet');
-- a new table's foreign key without an index is a notice; with one, nothing
SELECT rule, severity, relation FROM migrate.lint_sql('CREATE TABLE n (id int, p int REFERENCES lint_parent)');
SELECT rule, severity, relation FROM migrate.lint_sql('CREATE TABLE n (id int, p int REFERENCES lint_parent, q int, FOREIGN KEY (q) REFERENCES lint_parent); CREATE INDEX ON n (p); CREATE INDEX ON n (q, id)');
-- VACUUM FULL of every table; a default calling a function that does not
-- exist yet is unknown (no finding)
SELECT rule, severity, relation FROM migrate.lint_sql('VACUUM FULL');
SELECT rule, severity FROM migrate.lint_sql('SET lock_timeout = ''2s''; ALTER TABLE lint_1m ADD COLUMN z int DEFAULT not_yet_a_function()');
-- migrate.lock_timeout satisfies require-lock-timeout
SET migrate.lock_timeout = '2s';
SELECT rule, severity FROM migrate.lint_sql('ALTER TABLE lint_1m ADD COLUMN d int; CREATE INDEX ON lint_1m (b)');
RESET migrate.lock_timeout;
-- a partitioned table has no size: a warning; a table never vacuumed nor
-- analyzed counts as full (291 rows a page)
CREATE TABLE lint_part (id int, b int) PARTITION BY RANGE (id);
CREATE TABLE lint_fresh (id int, b int) WITH (autovacuum_enabled = false);
INSERT INTO lint_fresh SELECT i, i FROM generate_series(1, 1000) i;
SELECT rule, severity, relation, estimated_rows, size
  FROM migrate.lint_sql('SET lock_timeout = ''2s''; CREATE INDEX ON lint_part (b); CREATE INDEX ON lint_fresh (b)');
DROP TABLE lint_part, lint_fresh;
-- the thresholds are settings
SET migrate.lint_warn_rows = 0;
SELECT rule, severity FROM migrate.lint_sql('SET lock_timeout = ''2s''; CREATE INDEX ON lint_0 (b)');
SET migrate.lint_error_rows = 5000;
SELECT rule, severity FROM migrate.lint_sql('SET lock_timeout = ''2s''; CREATE INDEX ON lint_10k (b)');
RESET migrate.lint_warn_rows;
RESET migrate.lint_error_rows;
-- the SQL is read with standard_conforming_strings on, as it runs, whatever
-- the session says (and the session's setting stays)
SET standard_conforming_strings = off;
SELECT rule, severity, line, statement
  FROM migrate.lint_sql(E'SET lock_timeout = ''2s'';\nSELECT ''\\'';\n/* next */ CREATE INDEX ON lint_1m (b)');
SHOW standard_conforming_strings;
RESET standard_conforming_strings;
-- empty SQL, and SQL that does not parse
SELECT count(*) FROM migrate.lint_sql('');
SELECT * FROM migrate.lint_sql('CREATE INDEX ON');
SELECT * FROM migrate.lint_sql(NULL);

-- add(): findings of severity warning or error are WARNINGs (notices are not)
SELECT migrate.add('l1', 'CREATE INDEX ON lint_0 (b)', parents => '{}');
SELECT migrate.add('l2', 'SET lock_timeout = ''2s''; CREATE INDEX ON lint_1m (b)', parents => '{l1}');
-- registered again unchanged: not linted again
SELECT migrate.add('l2', 'SET lock_timeout = ''2s''; CREATE INDEX ON lint_1m (b)', parents => '{l1}');
SELECT rule, severity, line, relation, estimated_rows FROM migrate.lint('l2');
-- migrate.lint = error: a finding of severity error refuses the revision
SET migrate.lint = error;
SELECT migrate.add('l3', E'SET lock_timeout = ''2s'';\nCREATE INDEX ON lint_1m (b);\nALTER TABLE lint_1m ADD CHECK (a > 0)', parents => '{l2}');
-- a warning only warns
SELECT migrate.add('l3', 'SET lock_timeout = ''2s''; CREATE INDEX ON lint_10k (b)', parents => '{l2}');
-- lint_ignore: each rule with its reason; stored, not in the checksum,
-- recorded in the history row
SELECT migrate.add('l4', 'SET lock_timeout = ''2s''; CREATE INDEX ON lint_1m (b)', parents => '{l3}',
                   lint_ignore => ARRAY['require-concurrent-index-creation: maintenance window']);
SELECT id, lint_ignore FROM migrate.revision WHERE id = 'l4';
SELECT count(*) AS findings FROM migrate.lint('l4');
SELECT rule FROM migrate.lint('l4', down => false);
SELECT operation, detail -> 'lint_ignore' AS lint_ignore FROM migrate.history WHERE revision = 'l4';
-- only the lint_ignore changes: an edit, recorded
SELECT migrate.add('l4', 'SET lock_timeout = ''2s''; CREATE INDEX ON lint_1m (b)', parents => '{l3}',
                   lint_ignore => ARRAY['require-concurrent-index-creation: maintenance window, 02:00']);
SELECT operation, detail -> 'lint_ignore' AS lint_ignore FROM migrate.history WHERE revision = 'l4' ORDER BY id;
-- an unknown rule, and a rule without a reason, are refused
SELECT migrate.add('l5', 'SELECT 1', parents => '{l4}', lint_ignore => '{no-such-rule: because}');
SELECT migrate.add('l5', 'SELECT 1', parents => '{l4}', lint_ignore => '{ban-drop-table}');
-- a migration file's lint-ignore lines, and script() writes them back
SELECT migrate.add_script(E'-- migrate:revision l5\n-- migrate:parents l4\n-- migrate:lint-ignore ban-drop-table the table was never used\n-- migrate:lint-ignore require-lock-timeout nobody uses it\n-- migrate:up\nDROP TABLE lint_10k;\n-- migrate:down\n');
SELECT migrate.script('l5');
SELECT count(*) AS findings FROM migrate.lint('l5');
-- a warning in a file names the file's line
SELECT migrate.add_script(E'-- migrate:revision l6\n-- migrate:parents l5\n-- migrate:up\nSET lock_timeout = ''2s'';\nALTER TABLE lint_10k\n  DROP COLUMN b;\n-- migrate:down\n');
-- the down SQL, on request
SELECT migrate.add('l7', 'SELECT 1', 'SET lock_timeout = ''1s''; DROP TABLE lint_1m', parents => '{l6}');
SELECT rule, severity, relation FROM migrate.lint('l7', down => true);
SELECT count(*) FROM migrate.lint('l7');
-- migrate.lint = off: nothing at add
SET migrate.lint = off;
SELECT migrate.add('l8', 'CREATE INDEX ON lint_1m (b)', parents => '{l7}');
RESET migrate.lint;
SELECT * FROM migrate.lint('no_such_revision');
SELECT * FROM migrate.verify();

DROP TABLE lint_case, lint_0, lint_10k, lint_1m, lint_parent;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
