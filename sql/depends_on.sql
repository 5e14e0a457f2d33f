-- depends_on: a revision of branch "beta" needs one of branch "alpha" without
-- being its child.  upgrade pulls the dependency in, downgrade unapplies the
-- dependent first, ties are broken by id, relative steps ignore depends_on,
-- and a missing dependency is refused at add.
-- The view "state" shows the applied set and the tables that exist.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied,
       ARRAY(SELECT relname::text FROM pg_class
             WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY relname) AS tables;

-- two roots: alpha is c1 <- c2, beta is b1 <- b2, and b2 depends on c2
-- (b2 references t_c2, so the SQL fails if the order is wrong)
SELECT migrate.add('c1', 'CREATE TABLE t_c1 (id int)', 'DROP TABLE t_c1', parents => '{}', message => 'alpha 1', branch_labels => '{alpha}');
SELECT migrate.add('c2', 'CREATE TABLE t_c2 (id int PRIMARY KEY)', 'DROP TABLE t_c2', parents => '{c1}', message => 'alpha 2');
SELECT migrate.add('b1', 'CREATE TABLE t_b1 (id int)', 'DROP TABLE t_b1', parents => '{}', message => 'beta 1', branch_labels => '{beta}');

-- Check violation: a dependency that does not exist
SELECT migrate.add('b2', 'CREATE TABLE t_b2 (c2 int REFERENCES t_c2)', 'DROP TABLE t_b2', parents => '{b1}', depends_on => '{nope}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, count(*) AS revisions FROM migrate.revision;
-- Check violation: a revision depending on itself
SELECT migrate.add('b2', 'CREATE TABLE t_b2 (c2 int REFERENCES t_c2)', 'DROP TABLE t_b2', parents => '{b1}', depends_on => '{b2}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, count(*) AS revisions FROM migrate.revision;
-- Invalid input: the same dependency twice
SELECT migrate.add('b2', 'CREATE TABLE t_b2 (c2 int REFERENCES t_c2)', 'DROP TABLE t_b2', parents => '{b1}', depends_on => '{c2,c2}');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, count(*) AS revisions FROM migrate.revision;

SELECT migrate.add('b2', 'CREATE TABLE t_b2 (c2 int REFERENCES t_c2)', 'DROP TABLE t_b2', parents => '{b1}', message => 'beta 2 needs alpha 2', depends_on => '{c2}');
-- a dependency is no parent: c2 and b2 are both heads
SELECT revision, parents, depends_on, branch_labels, is_head FROM migrate.revisions();
SELECT id, parents, depends_on, children FROM migrate.show('c2');

-- Ambiguous: +1 from nothing applied, with two roots
SELECT revision, message FROM migrate.upgrade('+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- upgrade of beta alone pulls in nothing of alpha
SELECT revision, message FROM migrate.upgrade('beta');
SELECT * FROM state;
-- upgrade of beta's head pulls in c1 and c2 before b2
SELECT revision, message FROM migrate.upgrade('beta@head');
SELECT * FROM state;
SELECT * FROM migrate.current();
-- downgrade of alpha unapplies the dependent b2 first
SELECT revision, message FROM migrate.downgrade('alpha@base');
SELECT * FROM state;
-- upgrade of b2 by id: the same pull
SELECT revision, message FROM migrate.upgrade('b2');
SELECT * FROM state;
-- downgrade to c1: c2 and its dependent b2 go, b2 first
SELECT revision, message FROM migrate.downgrade('c1');
SELECT * FROM state;
-- Not in prerequisite state: downgrade to c2 itself; T stays, so what only
-- depends on T stays too, and nothing would go (Alembic raises)
SELECT revision, message FROM migrate.upgrade('heads');
SELECT revision, message FROM migrate.downgrade('c2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;

-- ties broken by id: from nothing, b1 < c1, and b2 waits for c2
SELECT revision, message FROM migrate.downgrade('base');
SELECT * FROM state;
SELECT revision, message FROM migrate.upgrade('heads');
SELECT * FROM state;
SELECT * FROM migrate.current();
SELECT step, revision, operation FROM migrate.plan('downgrade', 'base');

-- downgrade to the current heads, or to the graph heads, changes nothing
-- (b2 is itself in the target, even though it depends on c2, also in it)
BEGIN;
SELECT revision, message FROM migrate.downgrade('current');
SELECT * FROM state;
ROLLBACK;
SELECT step, revision, operation FROM migrate.plan('downgrade', 'heads');
SELECT * FROM state;

-- relative steps follow parents only
SELECT revision, message FROM migrate.downgrade('b2-1');
SELECT * FROM state;
-- Unknown target: b2 is no child of c2, so c2 has no next revision
SELECT revision, message FROM migrate.upgrade('c2+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.upgrade('beta@+1');
SELECT * FROM state;

-- Check violation: a merge of c2 with b2, which depends on it
SELECT migrate.merge(ARRAY['c2', 'b2']);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, count(*) AS revisions FROM migrate.revision;
-- Not in prerequisite state: the dependency cannot be removed
SELECT revision, message FROM migrate.downgrade('base');
SELECT migrate.remove('c2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, count(*) AS revisions FROM migrate.revision;

-- a dependency on a revision below a fork: d1 (child of b1) depends on c1
SELECT migrate.add('d1', 'CREATE TABLE t_d1 (id int)', 'DROP TABLE t_d1', parents => '{b1}', message => 'beta fork', depends_on => '{c1}');
SELECT revision, message FROM migrate.upgrade('d1');
SELECT * FROM state;
SELECT revision, message FROM migrate.upgrade('heads');
SELECT * FROM state;
-- downgrade to c1 unapplies b2 (through c2), children first; d1 depends on
-- c1 only, which stays, so d1 stays
SELECT revision, message FROM migrate.downgrade('c1');
SELECT * FROM state;
-- alpha@base: c1 too
SELECT revision, message FROM migrate.downgrade('alpha@base');
SELECT * FROM state;

-- clean up
SELECT revision, message FROM migrate.downgrade('base');
SELECT * FROM state;
DROP VIEW state;

-- depends_on may name a branch label, as in Alembic: the labelled revision's
-- id is stored
SELECT migrate.add('dl_root', '', '', parents => '{}', branch_labels => '{dl_lib}');
SELECT migrate.add('dl_user', '', '', parents => '{}', depends_on => '{dl_lib}');
SELECT depends_on FROM migrate.show('dl_user');
-- a label and the id it names are the same revision twice
SELECT migrate.add('dl_twice', '', '', parents => '{}', depends_on => '{dl_lib,dl_root}');
-- a name that is neither is still unknown
SELECT migrate.add('dl_none', '', '', parents => '{}', depends_on => '{dl_nowhere}');
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
