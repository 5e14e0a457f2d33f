-- Alembic's answers (issue 15): each case below is what Alembic 1.8's
-- RevisionMap and stamp give for the same graph (test/t/alembic_oracle.py
-- asks it; test/t/060_alembic_differential.pl compares at random).  Graphs
-- are written child <- parent.  No SQL runs: every revision's SQL is empty.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied;

-- 1. downgrade(T) keeps what only depends on T:
-- y1; x1; y2 <- y1 (depends_on x1); x2 <- x1; applied {x2, y2}
SELECT migrate.add('y1', '', '', parents => '{base}');
SELECT migrate.add('x1', '', '', parents => '{base}');
SELECT migrate.add('y2', '', '', parents => '{y1}', depends_on => '{x1}');
SELECT migrate.add('x2', '', '', parents => '{x1}');
SELECT revision FROM migrate.upgrade('heads');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'x1');
SELECT revision FROM migrate.downgrade('x1');
SELECT * FROM state;
-- Not in prerequisite state: x1 is applied, but only y2 is above it, and y2 stays
SELECT revision FROM migrate.downgrade('x1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT migrate.stamp('base');
SELECT id FROM migrate.revision ORDER BY id COLLATE "C";
SELECT migrate.remove(r) FROM unnest(ARRAY['y2', 'x2', 'y1', 'x1']) AS r;

-- 2. stamp moves only the current heads on the target's lineage:
-- a; b <- a; c1 <- b (c1branch); d1 <- c1; c2 <- b (c2branch); d2 <- c2
SELECT migrate.add('a', '', '', parents => '{base}');
SELECT migrate.add('b', '', '', parents => '{a}');
SELECT migrate.add('c1', '', '', parents => '{b}', branch_labels => '{c1branch}');
SELECT migrate.add('d1', '', '', parents => '{c1}');
SELECT migrate.add('c2', '', '', parents => '{b}', branch_labels => '{c2branch}');
SELECT migrate.add('d2', '', '', parents => '{c2}');
SELECT migrate.stamp('d1'), migrate.stamp('c2');
SELECT * FROM state;
-- d1 stays, c2 moves up to d2
SELECT migrate.stamp('c2branch@head');
SELECT * FROM state;
-- c1branch@base: d1 moves down below c1; the c2 branch stays
SELECT migrate.stamp('c1branch@base');
SELECT * FROM state;
-- a revision on no current lineage is a new branch
SELECT migrate.stamp('c1');
SELECT * FROM state;
-- a later upgrade runs nothing of the other branch again
SELECT step, revision, operation FROM migrate.plan('upgrade', 'heads');

-- 8. <label>@<rev>: a revision on the label's lineage, by id or prefix
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c1branch@b');
SELECT step, revision, operation FROM migrate.plan('stamp', 'c2branch@c2');
-- Unknown target: c2 is neither an ancestor nor a descendant of c1
SELECT step, revision, operation FROM migrate.plan('stamp', 'c1branch@c2');
-- Invalid input: after "@" comes no revision
SELECT step, revision, operation FROM migrate.plan('stamp', 'c1branch@zzzz');
-- <label>@heads, <label>@head-N, <label>@base+N, <label>@<rev>+N
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c1branch@heads');
SELECT step, revision, operation FROM migrate.plan('stamp', 'c2branch@head-1');
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c2branch@base+2');
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c2branch@c2+1');

-- 9. downgrade('<label>@<rev>') at a fork unapplies only the children of
-- rev toward the label; the other branch stays (downgrade, downgrade_sql
-- and plan alike)
SELECT migrate.stamp('d1'), migrate.stamp('d2');
SELECT * FROM state;
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c1branch@b');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c2branch@a');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'b');
SELECT * FROM migrate.downgrade_sql('c2branch@b');
SELECT revision FROM migrate.downgrade('c2branch@b');
SELECT * FROM state;
-- Ambiguous: b is a fork above a, the label's revision: no child leads to it
SELECT step, revision, operation FROM migrate.plan('downgrade', 'a@b');

-- 10. <label>@+N and <label>@-N start at the current head on the label's
-- lineage (its ancestors and descendants), else at the last revision
-- applied on it; steps at a fork go toward the label
SELECT migrate.stamp('base'), migrate.stamp('a');
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c1branch@+1');
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c1branch@+2');
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c2branch@b+1');
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c2branch@base+3');
-- Invalid input: an upgrade to a step back from the current state
SELECT step, revision, operation FROM migrate.plan('upgrade', 'c1branch@-1');
SELECT step, revision, operation FROM migrate.plan('upgrade', '-1');
SELECT migrate.stamp('d1'), migrate.stamp('d2');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c1branch@-1');
-- two steps back is the fork b: only c1's side goes
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c1branch@-2');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c2branch@base+2');
-- steps back go past the first revision of the branch, down to base
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c1branch@head-3');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c1branch@head-4');
-- Undefined object: one step below base
SELECT step, revision, operation FROM migrate.plan('downgrade', 'c1branch@head-5');
-- stamp('<label>@<rev>'): when a current head is on rev's lineage (d1), every
-- current head on the label's lineage (d2 for b) moves to rev too
SELECT step, revision, operation FROM migrate.plan('stamp', 'c1');
SELECT step, revision, operation FROM migrate.plan('stamp', 'b@c1');
SELECT migrate.stamp('base'), migrate.stamp('c1'), migrate.stamp('d2');
SELECT * FROM state;

-- 3. downgrade to a target above the current state is an error, as in Alembic
-- Not in prerequisite state: d1 is not applied
SELECT revision FROM migrate.downgrade('d1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT migrate.stamp('base'), migrate.stamp('c1');
SELECT revision FROM migrate.downgrade('+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- at the target itself: nothing to do
SELECT revision FROM migrate.downgrade('c1');

-- 4. revisions('A:B') with A not an ancestor of B is an error
-- Invalid input: reversed, and across the two branches
SELECT revision FROM migrate.revisions('d1:a');
SELECT revision FROM migrate.revisions('c1:d2');
SELECT revision FROM migrate.revisions('a:d1');

-- 7. downgrade('-1') at a merge unapplies the merge; -2 is ambiguous
SELECT migrate.merge(ARRAY['d1', 'd2'], 'join', 'm');
SELECT migrate.stamp('m');
SELECT step, revision, operation FROM migrate.plan('downgrade', '-1');
SELECT * FROM migrate.downgrade_sql('-1');
-- Ambiguous: two steps back from the merge
SELECT step, revision, operation FROM migrate.plan('downgrade', '-2');
SELECT migrate.stamp('base');
SELECT migrate.remove(r) FROM unnest(ARRAY['m', 'd2', 'c2', 'd1', 'c1', 'b', 'a']) AS r;

-- 5. a branch reaches down to the nearest fork or merge:
-- a (abranch) <- b <- c; d <- e (ebranch) <- f
SELECT migrate.add('a', '', '', parents => '{base}', branch_labels => '{abranch}');
SELECT migrate.add('b', '', '', parents => '{a}');
SELECT migrate.add('c', '', '', parents => '{b}');
SELECT migrate.add('d', '', '', parents => '{base}');
SELECT migrate.add('e', '', '', parents => '{d}', branch_labels => '{ebranch}');
SELECT migrate.add('f', '', '', parents => '{e}');
SELECT revision FROM migrate.revisions('ebranch@base:heads');
SELECT revision FROM migrate.revisions('c@base:heads');
SELECT revision FROM migrate.revisions('ebranch@d:heads');
SELECT revision FROM migrate.upgrade('heads');
-- ebranch@base is d: d, e and f go, the a branch stays
SELECT step, revision, operation FROM migrate.plan('downgrade', 'ebranch@base');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'ebranch@-2');
SELECT step, revision, operation FROM migrate.plan('downgrade', 'ebranch@d');

-- 6. ranges from label@base follow the branch and what it needs through
-- depends_on, not every descendant through depends_on: root g depends on b
SELECT migrate.add('g', '', '', parents => '{base}', depends_on => '{b}');
SELECT revision FROM migrate.revisions('abranch@base:heads');
SELECT revision FROM migrate.revisions('ebranch@base:heads');
SELECT revision FROM migrate.revisions('a:heads');

-- clean up
SELECT migrate.stamp('base');
DROP VIEW state;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
