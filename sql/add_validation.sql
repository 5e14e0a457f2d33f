-- migrate.add: defaults, idempotence, replacement and every invalid input.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;

-- the first revision of an empty graph is a root
SELECT migrate.add('a1', 'CREATE TABLE t_a1 (id int)', 'DROP TABLE t_a1');
-- parents => NULL: the single head
SELECT migrate.add('a2', 'CREATE TABLE t_a2 (id int)', 'DROP TABLE t_a2');
-- NULL message is an empty message; NULL depends_on and branch_labels are empty
SELECT migrate.add('a3', 'SELECT 1', NULL, NULL, NULL, NULL, NULL);
SELECT id, parents, depends_on, branch_labels, message, down_sql FROM migrate.revision ORDER BY id;

-- id => NULL generates a 12-hex-digit id
SELECT migrate.add(NULL, '') ~ '^[0-9a-f]{12}$' AS generated;
SELECT count(*) FROM migrate.revision WHERE id ~ '^[0-9a-f]{12}$';
SELECT migrate.remove(id) FROM migrate.revision WHERE id ~ '^[0-9a-f]{12}$';

-- idempotent: the same id and content is a no-op, without a history row
SELECT count(*) AS history_before FROM migrate.history;
SELECT migrate.add('a2', 'CREATE TABLE t_a2 (id int)', 'DROP TABLE t_a2');
SELECT count(*) AS history_after FROM migrate.history;

-- an unapplied revision is replaced by new content (parents kept when NULL)
SELECT migrate.add('a3', 'SELECT 2', message => 'second version');
SELECT id, parents, up_sql, message FROM migrate.revision WHERE id = 'a3';
SELECT operation, revision FROM migrate.history ORDER BY id DESC LIMIT 1;

-- once applied, other content is refused
SELECT revision FROM migrate.upgrade('head');
-- Invalid input: replacing an applied revision
SELECT migrate.add('a1', 'CREATE TABLE t_a1 (id bigint)', 'DROP TABLE t_a1');
SELECT up_sql FROM migrate.revision WHERE id = 'a1';
-- a new message or label for an applied revision changes no SQL and is allowed
SELECT migrate.add('a1', 'CREATE TABLE t_a1 (id int)', 'DROP TABLE t_a1', message => 'users', branch_labels => '{core}');
SELECT id, message, branch_labels FROM migrate.revision WHERE id = 'a1';
SELECT operation, revision FROM migrate.history ORDER BY id DESC LIMIT 1;

-- Invalid input: NULL up SQL
SELECT migrate.add('b1', NULL);
-- Invalid input: forbidden characters, empty, leading dot, too long, reserved
SELECT migrate.add('b/1', '');
SELECT migrate.add('b 1', '');
SELECT migrate.add('bé', '');
SELECT migrate.add('', '');
SELECT migrate.add('.b1', '');
SELECT migrate.add(repeat('b', 129), '');
SELECT migrate.add('head', '');
SELECT migrate.add('heads', '');
SELECT migrate.add('base', '');
SELECT migrate.add('current', '');
-- 128 characters and dots inside are fine
SELECT length(migrate.add(repeat('c', 128), '', parents => '{}'));
SELECT migrate.add('v1.2_x', '', parents => '{}');

-- Invalid input: parents
SELECT migrate.add('b1', '', parents => '{nope}');
SELECT migrate.add('b1', '', parents => '{a1,a1}');
SELECT migrate.add('b1', '', parents => '{b1}');
SELECT migrate.add('b1', '', parents => ARRAY[NULL]::text[]);
SELECT migrate.add('b1', '', parents => '{{a1},{a2}}');
SELECT migrate.add('b1', '', parents => '{bad/id}');
-- several heads: parents => NULL cannot choose
SELECT migrate.add('b1', '');
-- Invalid input: depends_on
SELECT migrate.add('b1', '', parents => '{a3}', depends_on => '{nope}');
SELECT migrate.add('b1', '', parents => '{a3}', depends_on => '{b1}');
SELECT migrate.add('b1', '', parents => '{a3}', depends_on => '{a1,a1}');
-- Invalid input: branch labels
SELECT migrate.add('b1', '', parents => '{a3}', branch_labels => '{core}');
SELECT migrate.add('b1', '', parents => '{a3}', branch_labels => '{a2}');
SELECT migrate.add('b1', '', parents => '{a3}', branch_labels => '{b1}');
SELECT migrate.add('b1', '', parents => '{a3}', branch_labels => '{x,x}');
SELECT migrate.add('b1', '', parents => '{a3}', branch_labels => '{head}');
SELECT migrate.add('b1', '', parents => '{a3}', branch_labels => '{"has space"}');
SELECT migrate.add('core', '', parents => '{a3}');
-- Invalid input: a multi-line message
SELECT migrate.add('b1', '', parents => '{a3}', message => E'two\nlines');
-- nothing of the refused calls remains
SELECT count(*) FROM migrate.revision WHERE id = 'b1';

-- cycles through replace: a revision may not come to descend from itself
SELECT migrate.add('c1', '', parents => '{}');
SELECT migrate.add('c2', '', parents => '{c1}');
SELECT migrate.add('c3', '', parents => '{c2}');
SELECT migrate.add('c1', '', parents => '{c3}');
SELECT migrate.add('c1', '', parents => '{}', depends_on => '{c2}');
SELECT migrate.add('c2', '', parents => '{c2}');
SELECT id, parents, depends_on FROM migrate.revision WHERE id LIKE 'c_' ORDER BY id;
-- a legal replace moves the revision and keeps migrate.heads() right
SELECT migrate.add('c3', '', parents => '{c1}');
SELECT * FROM migrate.heads() ORDER BY 1;
SELECT migrate.remove('c3');
SELECT migrate.remove('c2');
SELECT migrate.remove('c1');

-- multi-statement SQL with dollar-quoted bodies containing semicolons
SELECT migrate.add('d1', $up$
CREATE FUNCTION f_d1(x int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  x := x + 1; -- a semicolon; inside the body
  RETURN x;
END $$;
CREATE TABLE t_d1 (v text DEFAULT 'a;b');
INSERT INTO t_d1 VALUES ($q$it's; fine$q$);
$up$, $down$DROP TABLE t_d1; DROP FUNCTION f_d1(int);$down$, parents => '{a3}');
SELECT revision FROM migrate.upgrade('d1');
SELECT f_d1(41), (SELECT string_agg(v, '|') FROM t_d1);

-- a 10 MB revision: stored, applied and undone like any other
SELECT migrate.add('e1_big',
  'CREATE TABLE t_big (v text);' ||
  repeat(E'INSERT INTO t_big VALUES (repeat(''x'', 3)); -- ' || repeat('y', 1000) || E'\n', 10000),
  'DROP TABLE t_big', parents => '{d1}') AS id;
SELECT length(up_sql) > 10000000 AS over_10mb FROM migrate.revision WHERE id = 'e1_big';
SELECT revision FROM migrate.upgrade('e1_big');
SELECT count(*) FROM t_big;
SELECT revision FROM migrate.downgrade('d1');
SELECT count(*) FROM pg_class WHERE relname = 't_big';

-- a3 is irreversible: downgrade stops above it, stamp moves past it
SELECT revision FROM migrate.downgrade('base');
SELECT revision FROM migrate.downgrade('a3');
SELECT migrate.stamp('base');
SELECT relname FROM pg_class WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY 1;
DROP TABLE t_a1, t_a2;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
