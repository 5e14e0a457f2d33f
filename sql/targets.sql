-- Targets (SPEC section 2) for upgrade and downgrade: head, heads, base,
-- current, full id, branch label, unique prefix, +N, -N, <rev>+N, <rev>-N,
-- <label>@head, <label>@base, <label>@+N, <label>@-N, and every way a target
-- can be malformed (22023), unknown (42704) or ambiguous (21000).  After each
-- call the view "state" shows the applied set and the tables that exist;
-- after each error it also shows the SQLSTATE, and that nothing changed.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied,
       ARRAY(SELECT relname::text FROM pg_class
             WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY relname) AS tables;

-- an empty graph: nothing to do
SELECT revision, message FROM migrate.upgrade();
SELECT revision, message FROM migrate.downgrade('base');
-- Unknown target: +1 has nowhere to go in an empty graph
SELECT revision, message FROM migrate.upgrade('+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target: head of an empty graph as the origin of a step
SELECT revision, message FROM migrate.upgrade('head-1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;

-- a chain r0001_a <- r0002_b <- r0003_c <- r0004_d; labels core (r0001_a), late (r0003_c)
SELECT migrate.add('r0001_a', 'CREATE TABLE t_a (id int)', 'DROP TABLE t_a', message => 'table a', branch_labels => '{core}');
SELECT migrate.add('r0002_b', 'CREATE TABLE t_b (id int)', 'DROP TABLE t_b', message => 'table b');
SELECT migrate.add('r0003_c', 'CREATE TABLE t_c (id int)', 'DROP TABLE t_c', message => 'table c', branch_labels => '{late}');
SELECT migrate.add('r0004_d', 'CREATE TABLE t_d (id int)', 'DROP TABLE t_d', message => 'table d');

-- +N from nothing applied starts at the root
SELECT revision, message FROM migrate.upgrade('+1');
SELECT * FROM state;
-- a unique prefix of at least 4 characters
SELECT revision, message FROM migrate.upgrade('r0002');
SELECT * FROM state;
-- -N from the single current head
SELECT revision, message FROM migrate.downgrade('-1');
SELECT * FROM state;
SELECT revision, message FROM migrate.upgrade('+2');
SELECT * FROM state;
SELECT revision, message FROM migrate.upgrade('head');
SELECT * FROM state;
-- already there: a notice and no rows, for head, heads and current
SELECT revision, message FROM migrate.upgrade('head');
SELECT revision, message FROM migrate.upgrade('heads');
SELECT revision, message FROM migrate.upgrade('current');
SELECT revision, message FROM migrate.downgrade('current');
SELECT * FROM state;
-- a full id: its applied descendants go, children first
SELECT revision, message FROM migrate.downgrade('r0002_b');
SELECT * FROM state;
-- a branch label
SELECT revision, message FROM migrate.upgrade('late');
SELECT * FROM state;
-- <label>@head
SELECT revision, message FROM migrate.upgrade('late@head');
SELECT * FROM state;
-- <label>@-N: from the current head on the label's lineage (r0004_d)
SELECT revision, message FROM migrate.downgrade('core@-1');
SELECT * FROM state;
-- <label>@base: the root of the label's branch and everything after it; the
-- branch of late (r0003_c) goes down to r0001_a, as no fork or merge is below
SELECT revision, message FROM migrate.downgrade('late@base');
SELECT * FROM state;
-- Not in prerequisite state: a target ahead of the database (Alembic raises)
SELECT revision, message FROM migrate.upgrade('r0002_b');
SELECT revision, message FROM migrate.downgrade('+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('r0004_d');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT * FROM state;
-- base: everything, newest first
SELECT revision, message FROM migrate.downgrade('base');
SELECT * FROM state;
-- <label>@+N with nothing applied on the label's lineage starts at base
SELECT revision, message FROM migrate.upgrade('core@+2');
SELECT * FROM state;
SELECT revision, message FROM migrate.upgrade('late@+1');
SELECT * FROM state;
-- late@-1: one step back from the current head on late's lineage
SELECT revision, message FROM migrate.downgrade('late@-1');
SELECT * FROM state;
-- <rev>+N, head-N, current-N, current+N
SELECT revision, message FROM migrate.upgrade('r0001_a+3');
SELECT * FROM state;
SELECT revision, message FROM migrate.downgrade('head-2');
SELECT * FROM state;
SELECT revision, message FROM migrate.downgrade('current-1');
SELECT * FROM state;
SELECT revision, message FROM migrate.upgrade('current+2');
SELECT * FROM state;
SELECT revision, message FROM migrate.downgrade('r0004_d-3');
SELECT * FROM state;
-- -1 from the first revision is base: it is unapplied
SELECT revision, message FROM migrate.downgrade('-1');
SELECT * FROM state;
-- current with nothing applied: already there, like every other upgrade to current
SELECT revision, message FROM migrate.upgrade('current');
SELECT * FROM state;
-- base+N
SELECT revision, message FROM migrate.upgrade('base+2');
SELECT * FROM state;

-- Every error below leaves r0001_a and r0002_b applied.
-- Invalid input: upgrade to base
SELECT revision, message FROM migrate.upgrade('base');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: NULL target
SELECT revision, message FROM migrate.upgrade(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: downgrade has no default target
SELECT revision, message FROM migrate.downgrade();
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: empty target
SELECT revision, message FROM migrate.upgrade('');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: blank target
SELECT revision, message FROM migrate.upgrade(' ');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: a space inside
SELECT revision, message FROM migrate.downgrade('a b');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: two "@"
SELECT revision, message FROM migrate.upgrade('x@@y');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: nothing before "@"
SELECT revision, message FROM migrate.upgrade('@head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: unknown suffix after a known label (no revision either)
SELECT revision, message FROM migrate.upgrade('core@foo');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: unknown suffix after an unknown label (malformed whatever x is)
SELECT revision, message FROM migrate.upgrade('x@foo');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: a sign without a number
SELECT revision, message FROM migrate.upgrade('+');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: a sign followed by letters
SELECT revision, message FROM migrate.downgrade('-x');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: zero steps
SELECT revision, message FROM migrate.upgrade('+0');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('r0002_b-0');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.upgrade('core@+0');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: two steps
SELECT revision, message FROM migrate.upgrade('1+2+3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: more steps than an int holds
SELECT revision, message FROM migrate.upgrade('+99999999999');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: heads names several revisions, a step needs one
SELECT revision, message FROM migrate.upgrade('heads+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: a reserved name is no branch label
SELECT revision, message FROM migrate.upgrade('head@head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: an overlong target
SELECT revision, message FROM migrate.upgrade(repeat('r', 300));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: an overlong revision id
SELECT revision, message FROM migrate.downgrade(repeat('r', 200));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target: no such id or label
SELECT revision, message FROM migrate.upgrade('nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target: a prefix shorter than 4 characters
SELECT revision, message FROM migrate.upgrade('r00');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target: unknown label before "@" and before a step
SELECT revision, message FROM migrate.upgrade('nope@head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.upgrade('nope+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: a prefix matching several ids
SELECT revision, message FROM migrate.upgrade('r000');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('r000');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target: steps past the head
SELECT revision, message FROM migrate.upgrade('+3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.upgrade('head+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.upgrade('late@+3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target: steps past base
SELECT revision, message FROM migrate.downgrade('-3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('base-1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('r0001_a-2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('core@-3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target: late@-3 goes past base (from r0002_b: r0001_a, base)
SELECT revision, message FROM migrate.downgrade('late@-3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;

-- a fork: r0004_d has two children
SELECT migrate.add('r0005_e', 'CREATE TABLE t_e (id int)', 'DROP TABLE t_e', parents => '{r0004_d}', message => 'table e');
SELECT migrate.add('r0005_f', 'CREATE TABLE t_f (id int)', 'DROP TABLE t_f', parents => '{r0004_d}', message => 'table f');
-- Ambiguous: head with several graph heads
SELECT revision, message FROM migrate.upgrade('head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: a step forward at the fork
SELECT revision, message FROM migrate.upgrade('r0004_d+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.upgrade('core@+3');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- heads: both branches
SELECT revision, message FROM migrate.upgrade('heads');
SELECT * FROM state;
-- Ambiguous: +N and -N with two current heads
SELECT revision, message FROM migrate.upgrade('+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('-1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: head-1 still needs the single graph head
SELECT revision, message FROM migrate.downgrade('head-1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- current with two current heads: nothing to do
SELECT revision, message FROM migrate.downgrade('current');
-- <rev>-N on one branch of the fork
SELECT revision, message FROM migrate.downgrade('r0005_f-1');
SELECT * FROM state;

-- a merge revision r0006_m of both branches
SELECT migrate.merge(id => 'r0006_m');
SELECT revision, message FROM migrate.upgrade('head');
SELECT * FROM state;
-- a step into the merge walks into it, as Alembic does: with the merge
-- unapplied, r0005_e+1 is the merge
BEGIN;
SELECT revision FROM migrate.downgrade('r0005_e');
SELECT step, revision, operation FROM migrate.plan('upgrade', 'r0005_e+1');
ROLLBACK;
SELECT revision, message FROM migrate.upgrade('r0005_e+1');
-- one step back from the merge is its parents: -1 unapplies the merge
BEGIN;
SELECT revision, message FROM migrate.downgrade('-1');
SELECT * FROM state;
ROLLBACK;
SELECT step, revision, operation FROM migrate.plan('downgrade', 'r0006_m-1');
-- Ambiguous: two steps back from the merge
SELECT revision, message FROM migrate.downgrade('-2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- one parent of the merge as the target
SELECT revision, message FROM migrate.downgrade('r0005_e');
SELECT * FROM state;

-- an irreversible revision r0007_x (no down SQL) on top
SELECT migrate.add('r0007_x', 'CREATE TABLE t_x (id int)', NULL, message => 'table x');
SELECT revision, message FROM migrate.upgrade();
SELECT * FROM state;
-- Not in prerequisite state: a downgrade through it is refused up front
SELECT revision, message FROM migrate.downgrade('-1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision, message FROM migrate.downgrade('core@base');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- a downgrade that leaves it applied is fine
SELECT revision, message FROM migrate.downgrade('r0007_x');
SELECT * FROM state;

-- clean up: stamp the irreversible revision away, then downgrade the rest
SELECT migrate.stamp('r0006_m');
SELECT revision, message FROM migrate.downgrade('core@base');
SELECT * FROM state;
DROP TABLE t_x;
DROP VIEW state;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
