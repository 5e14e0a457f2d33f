SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- verify() and the columns the history records without hashing them: a
-- revision's message, branch_labels and created_by (which the registrant
-- rule trusts) against the detail of its newest add or replace row, and an
-- applied revision's applied_by and applied_at against the newest row that
-- applied it (upgrade or stamp).  add and replace rows carry detail, which
-- is part of their hash.  A superuser edits each column, each edit rolled
-- back after: verify() names the column, the stored value and the history
-- row; with the value put back, verify() is empty again.  A list column
-- made two-dimensional or given a NULL element is reported, not raised.
-- Hashes, history ids, times and the current role are masked in details.
\set VERBOSITY default
CREATE TEMP VIEW problems AS
SELECT problem, revision,
       replace(regexp_replace(regexp_replace(regexp_replace(detail,
                  '[0-9a-f]{64}', '<sha256>', 'g'),
                  '(row) [0-9]+', '\1 <id>', 'g'),
                  '"[0-9]{4}-[0-9]{2}-[0-9]{2}T[^"]*"', '<time>', 'g'),
               format('"%s"', current_user), '<me>') AS detail
  FROM migrate.verify();

-- c1 upgraded, c2 upgraded after a re-add that changed its message and
-- labels (a replace row), c3 stamped, c4 pending
SELECT migrate.add('c1', 'CREATE TABLE t_c1 (id int)', 'DROP TABLE t_c1', message => 'one',
                   branch_labels => '{first}');
SELECT migrate.add('c2', 'SELECT 2', 'SELECT -2', message => 'two');
SELECT migrate.add('c2', 'SELECT 2', 'SELECT -2', message => 'two, again', branch_labels => '{second,2nd}');
SELECT migrate.add('c3', 'SELECT 3', 'SELECT -3', depends_on => '{c1}', message => 'three');
SELECT migrate.add('c4', 'SELECT 4', 'SELECT -4', message => 'four');
SELECT revision FROM migrate.upgrade('c2');
SELECT migrate.stamp('c3');
-- add and replace rows record what they stored; other rows record nothing
SELECT operation, revision, detail - 'created_by' AS detail,
       detail ->> 'created_by' = current_user AS created_by_me
  FROM migrate.history ORDER BY id;
SELECT * FROM problems;

-- Each edit runs in a subtransaction that is rolled back: verify()'s rows
-- after the edit, then after the value is put back (if restore is given).
CREATE FUNCTION pg_temp.edited(edit text, restore text DEFAULT NULL)
RETURNS TABLE (step text, problem text, revision text, detail text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE edit;
  RETURN QUERY SELECT 'edited', p.* FROM problems p;
  IF restore IS NOT NULL THEN
    EXECUTE restore;
    RETURN QUERY SELECT 'restored', p.* FROM problems p;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'restored', 'none', NULL::text, NULL::text;
    END IF;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'UNDO0';
EXCEPTION WHEN SQLSTATE 'UNDO0' THEN
  RETURN;
END $$;

-- 1. created_by: a revision passed off as another role's
SELECT * FROM pg_temp.edited(
  $$UPDATE migrate.revision SET created_by = 'regress_migrate_planted' WHERE id = 'c4'$$,
  $$UPDATE migrate.revision SET created_by = current_user WHERE id = 'c4'$$);
-- 2. message
SELECT * FROM pg_temp.edited(
  $$UPDATE migrate.revision SET message = 'edited' WHERE id = 'c2'$$,
  $$UPDATE migrate.revision SET message = 'two, again' WHERE id = 'c2'$$);
-- 3. branch_labels: another label, and the same ones in another order
SELECT * FROM pg_temp.edited(
  $$UPDATE migrate.revision SET branch_labels = CASE id WHEN 'c1' THEN '{other}' ELSE '{2nd,second}' END::text[]
     WHERE id IN ('c1', 'c2')$$,
  $$UPDATE migrate.revision SET branch_labels = CASE id WHEN 'c1' THEN '{first}' ELSE '{second,2nd}' END::text[]
     WHERE id IN ('c1', 'c2')$$);
-- 4. applied_by, of an upgraded revision
SELECT * FROM pg_temp.edited(
  $$UPDATE migrate.applied SET applied_by = 'regress_migrate_planted' WHERE revision = 'c1'$$,
  $$UPDATE migrate.applied SET applied_by = current_user WHERE revision = 'c1'$$);
-- 5. applied_at, of a stamped revision
SELECT * FROM pg_temp.edited(
  $$UPDATE migrate.applied SET applied_at = applied_at - interval '1 day' WHERE revision = 'c3'$$,
  $$UPDATE migrate.applied SET applied_at = applied_at + interval '1 day' WHERE revision = 'c3'$$);
-- 5b. lint_ignore (1.1): a rule silenced behind migrate's back
SELECT * FROM pg_temp.edited(
  $$UPDATE migrate.revision SET lint_ignore = '{"ban-drop-table: planted"}' WHERE id = 'c2'$$,
  $$UPDATE migrate.revision SET lint_ignore = NULL WHERE id = 'c2'$$);
-- 6. detail itself is part of the row's hash: an edit of both detail and
-- created_by is found
SELECT * FROM pg_temp.edited(
  $$UPDATE migrate.history SET detail = jsonb_set(detail, '{created_by}', '"regress_migrate_planted"')
     WHERE revision = 'c4' AND operation = 'add';
    UPDATE migrate.revision SET created_by = 'regress_migrate_planted' WHERE id = 'c4'$$);

-- 7. malformed list columns are reported, not raised: parents made
-- two-dimensional, a NULL among depends_on, branch_labels two-dimensional
-- (which then also differ from the history), and two-dimensional parents
-- beside one-dimensional depends_on of another length
SELECT * FROM pg_temp.edited($$UPDATE migrate.revision SET parents = '{{c1}}' WHERE id = 'c2'$$);
SELECT * FROM pg_temp.edited($$UPDATE migrate.revision SET depends_on = '{c1,NULL}' WHERE id = 'c3'$$);
SELECT * FROM pg_temp.edited($$UPDATE migrate.revision SET branch_labels = '{{first}}' WHERE id = 'c1'$$);
SELECT * FROM pg_temp.edited($$UPDATE migrate.revision SET parents = '{{c2,c2}}' WHERE id = 'c3'$$);

-- clean again; clean up
SELECT * FROM problems;
SELECT revision FROM migrate.downgrade('base');
SELECT migrate.remove('c4');
SELECT count(*) AS tables_left FROM pg_class WHERE relname LIKE 't\_c%';
SELECT * FROM problems;
