-- Branches: a fork with labelled branches, 'head' refused with a hint,
-- 'heads', <label>@head, <label>@base, merge() of all heads and of named
-- revisions, merge errors, and upgrade and downgrade through a merge.
-- The view "state" shows the applied set and the tables that exist.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied,
       ARRAY(SELECT relname::text FROM pg_class
             WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY relname) AS tables;
-- the graph: heads, and the number of revisions
CREATE TEMP VIEW graph AS
SELECT ARRAY(SELECT migrate.heads()) AS heads,
       (SELECT count(*) FROM migrate.revision) AS revisions;

-- r0 forks into branch "left" (a1 <- c2) and branch "right" (b1)
SELECT migrate.add('r0', 'CREATE TABLE t_r0 (id int)', 'DROP TABLE t_r0', message => 'root');
SELECT migrate.add('a1', 'CREATE TABLE t_a1 (id int)', 'DROP TABLE t_a1', parents => '{r0}', message => 'left 1', branch_labels => '{left}');
SELECT migrate.add('c2', 'CREATE TABLE t_c2 (id int)', 'DROP TABLE t_c2', parents => '{a1}', message => 'left 2');
SELECT migrate.add('b1', 'CREATE TABLE t_b1 (id int)', 'DROP TABLE t_b1', parents => '{r0}', message => 'right 1', branch_labels => '{right}');
SELECT * FROM graph;
SELECT revision, parents, branch_labels, is_head FROM migrate.revisions();

-- Ambiguous: head with two graph heads, with a hint
SELECT revision, message FROM migrate.upgrade('head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: the branch starting at r0 has two heads
SELECT revision, message FROM migrate.upgrade('r0@head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: a step from the fork
SELECT revision, message FROM migrate.upgrade('r0+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: add without parents cannot choose between two heads
SELECT migrate.add('d1', 'CREATE TABLE t_d1 (id int)', 'DROP TABLE t_d1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;

-- <label>@head: only that branch (and what it needs)
SELECT revision, message FROM migrate.upgrade('right@head');
SELECT * FROM state;
-- <label>@+N: from the current head on the label's lineage, toward the label
SELECT revision, message FROM migrate.upgrade('left@+1');
SELECT * FROM state;
SELECT * FROM migrate.current();
-- Ambiguous: +1 with two current heads
SELECT revision, message FROM migrate.upgrade('+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: two current revisions on the lineage of r0
SELECT revision, message FROM migrate.downgrade('r0@-1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- heads: what is missing of every branch
SELECT revision, message FROM migrate.upgrade('heads');
SELECT * FROM state;
-- <label>@base: the labelled revision and its descendants, children first; the other branch stays
SELECT revision, message FROM migrate.downgrade('left@base');
SELECT * FROM state;
SELECT revision, message FROM migrate.downgrade('right@base');
SELECT * FROM state;
-- heads from r0: ties between the branches broken by id (a1 < b1 < c2)
SELECT revision, message FROM migrate.upgrade('heads');
SELECT * FROM state;
-- downgrade to the fork point: exactly the reverse order
SELECT revision, message FROM migrate.downgrade('r0');
SELECT * FROM state;
SELECT revision, message FROM migrate.upgrade('heads');

-- labels are unique, and share one namespace with ids
-- Duplicate: a label already used
SELECT migrate.add('d1', '', '', parents => '{r0}', branch_labels => '{left}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
-- Duplicate: a label that is an id
SELECT migrate.add('d1', '', '', parents => '{r0}', branch_labels => '{a1}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
-- Duplicate: an id that is a label
SELECT migrate.add('right', '', '', parents => '{r0}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;

-- merge errors: nothing is added
-- Invalid input: one revision
SELECT migrate.merge(ARRAY['c2']);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
-- Invalid input: the same revision twice (by id and by label)
SELECT migrate.merge(ARRAY['a1', 'left']);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
-- Invalid input: a NULL element
SELECT migrate.merge(ARRAY['c2', NULL]);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
-- Invalid input: a reserved id for the merge
SELECT migrate.merge(id => 'heads');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
-- Check violation: r0 is an ancestor of c2
SELECT migrate.merge(ARRAY['r0', 'c2']);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
SELECT migrate.merge(ARRAY['c2', 'b1', 'left']);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
-- Unknown revision
SELECT migrate.merge(ARRAY['c2', 'nope']);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;

-- merge() of all graph heads: parents in id order, empty up and down SQL
SELECT migrate.merge(id => 'm1');
SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql, children, is_applied
  FROM migrate.show('m1');
SELECT * FROM graph;
-- Invalid input: a single head left to merge
SELECT migrate.merge();
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM graph;
-- head is single again; upgrade through the merge runs no SQL
SELECT revision, message FROM migrate.upgrade('head');
SELECT * FROM state;
SELECT * FROM migrate.current();
-- a step into the merge walks into it, as Alembic does (applied already:
-- nothing to do; after the downgrade below it is the merge)
SELECT revision, message FROM migrate.upgrade('c2+1');
-- one step back out of the merge is its parents: the merge is unapplied
SELECT step, revision, operation FROM migrate.plan('downgrade', '-1');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'left@-1');
-- downgrade of the merge alone: to one of its parents
SELECT revision, message FROM migrate.downgrade('c2');
SELECT * FROM state;
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c2+1');
SELECT * FROM migrate.current();
-- left@base goes no further than the merge's other parent
SELECT revision, message FROM migrate.upgrade('head');
SELECT revision, message FROM migrate.downgrade('left@base');
SELECT * FROM state;
-- upgrade to the merge brings back the branch it needs
SELECT revision, message FROM migrate.upgrade('m1');
SELECT * FROM state;

-- a third branch, then merge of named revisions: a label and an id
SELECT migrate.add('d1_third', 'CREATE TABLE t_d1 (id int)', 'DROP TABLE t_d1', parents => '{r0}', message => 'third 1', branch_labels => '{third}');
SELECT * FROM graph;
SELECT migrate.merge(ARRAY['third', 'm1'], 'join third', 'm2');
SELECT id, parents, message, up_sql, down_sql FROM migrate.show('m2');
SELECT * FROM graph;
SELECT revision, parents, is_applied, is_head, is_current FROM migrate.revisions();
-- upgrade through the second merge: third@head is m2
SELECT revision, message FROM migrate.upgrade('third@head');
SELECT * FROM state;
-- third@base: d1_third and the merge that needs it
SELECT revision, message FROM migrate.downgrade('third@base');
SELECT * FROM state;
SELECT * FROM migrate.current();
SELECT revision, message FROM migrate.upgrade();
-- downgrade of both merges at once, from a revision below them
SELECT revision, message FROM migrate.downgrade('a1');
SELECT * FROM state;

-- clean up
SELECT revision, message FROM migrate.downgrade('base');
SELECT * FROM state;
DROP VIEW state;
DROP VIEW graph;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
