-- The read-only functions: revisions() with and without ranges, show() by
-- id, label and prefix, plan() for upgrade, downgrade and stamp, current()
-- and heads() in several states, and the is_head / is_current flags.
-- None of them changes anything: the view "state" shows the applied set
-- and the tables that exist; plan() leaves no history row either.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
CREATE TEMP VIEW state AS
SELECT ARRAY(SELECT revision FROM migrate.applied ORDER BY revision COLLATE "C") AS applied,
       ARRAY(SELECT relname::text FROM pg_class
             WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY relname) AS tables;

-- an empty graph
SELECT * FROM migrate.revisions();
SELECT * FROM migrate.current();
SELECT * FROM migrate.heads();
SELECT * FROM migrate.plan('upgrade', 'head');

-- rev01 <- rev02 <- rev03 <- rev04 (irreversible)
--              \ <- rev05 (label feat) <- rev06 (depends on rev03)
SELECT migrate.add('rev01_users', 'CREATE TABLE t_users (id int PRIMARY KEY)', 'DROP TABLE t_users', message => 'users');
SELECT migrate.add('rev02_email', 'ALTER TABLE t_users ADD email text', 'ALTER TABLE t_users DROP email', message => 'email');
SELECT migrate.add('rev03_index', 'CREATE INDEX t_users_email ON t_users (email)', 'DROP INDEX t_users_email', message => 'index');
SELECT migrate.add('rev04_audit', 'CREATE TABLE t_audit (id int)', NULL, message => 'audit, irreversible');
SELECT migrate.add('rev05_feature', 'CREATE TABLE t_feature (id int)', 'DROP TABLE t_feature', parents => '{rev02_email}', message => 'feature', branch_labels => '{feat}');
SELECT migrate.add('rev06_report', 'CREATE TABLE t_report (id int)', 'DROP TABLE t_report', parents => '{rev05_feature}', message => 'report', depends_on => '{rev03_index}');

-- nothing applied: newest first, two heads, no current head
SELECT * FROM migrate.revisions();
SELECT * FROM migrate.heads();
SELECT * FROM migrate.current();

-- ranges: A:B is the descendants-or-self of A and the ancestors-or-self of B
SELECT revision FROM migrate.revisions(':');
SELECT revision FROM migrate.revisions('base:heads');
SELECT revision FROM migrate.revisions(':rev03_index');
SELECT revision FROM migrate.revisions('rev02_email:rev03_index');
SELECT revision FROM migrate.revisions('rev02_email:');
SELECT revision FROM migrate.revisions('feat@base:');
SELECT revision FROM migrate.revisions(':feat@head');
SELECT revision FROM migrate.revisions('feat:feat@head');
SELECT revision FROM migrate.revisions('rev03:rev04');
SELECT revision FROM migrate.revisions(':rev06_report-1');
-- empty ranges
SELECT revision FROM migrate.revisions(':base');
SELECT revision FROM migrate.revisions('rev03_index:rev02_email');
SELECT revision FROM migrate.revisions('rev04_audit:feat@head');
-- current: with nothing applied, current: is everything
SELECT revision FROM migrate.revisions('current:');
-- Invalid input: no colon
SELECT revision FROM migrate.revisions('feat@head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision FROM migrate.revisions('');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: two colons
SELECT revision FROM migrate.revisions('base:rev02_email:heads');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: a malformed side
SELECT revision FROM migrate.revisions('feat@@head:');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown revision on either side
SELECT revision FROM migrate.revisions('nope:');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision FROM migrate.revisions(':nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: head with two graph heads, and an ambiguous prefix
SELECT revision FROM migrate.revisions('base:head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT revision FROM migrate.revisions('rev0:');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;

-- show: by id, label and unique prefix; children and is_applied
SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql, children, is_applied
  FROM migrate.show('rev02_email');
SELECT id, parents, depends_on, branch_labels, message, children FROM migrate.show('feat');
SELECT id, parents, depends_on, branch_labels, message, children FROM migrate.show('rev06');
SELECT id, down_sql IS NULL AS irreversible, children, is_applied FROM migrate.show('rev04_audit');
-- created_at is the time of the transaction that added it (its history row's time or before)
SELECT length(checksum) AS checksum_length,
       created_at = (SELECT r.created_at FROM migrate.revision r WHERE r.id = 'rev01_users') AS catalog_created_at,
       created_at <= (SELECT h.started_at FROM migrate.history h WHERE h.revision = 'rev01_users' AND h.operation = 'add')
         AND created_at > now() - interval '1 hour' AS when_added
  FROM migrate.show('rev01_users');
-- Invalid input: NULL
SELECT id FROM migrate.show(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: a target, not a revision
SELECT id FROM migrate.show('head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT id FROM migrate.show('rev01_users+1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown revision, and a prefix shorter than 4 characters
SELECT id FROM migrate.show('nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT id FROM migrate.show('rev');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous prefix
SELECT id FROM migrate.show('rev0');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;

-- plan() from nothing applied
SELECT count(*) AS history_before FROM migrate.history \gset
SELECT * FROM state;
SELECT * FROM migrate.plan('upgrade', 'heads');
SELECT * FROM migrate.plan('upgrade', 'feat@head');
SELECT * FROM migrate.plan('upgrade', 'rev03');
SELECT * FROM migrate.plan('downgrade', 'base');
SELECT * FROM migrate.plan('stamp', 'feat');
SELECT * FROM state;
SELECT count(*) - :history_before AS new_history_rows FROM migrate.history;
-- the plan is exactly what upgrade does
SELECT revision, message FROM migrate.upgrade('feat');
SELECT * FROM migrate.current();
SELECT revision, is_applied, is_head, is_current FROM migrate.revisions();
SELECT revision FROM migrate.revisions('current:');

-- plan() with rev01, rev02 and rev05 applied
SELECT count(*) AS history_before FROM migrate.history \gset
SELECT * FROM state;
SELECT * FROM migrate.plan('upgrade', 'rev06_report');
SELECT * FROM migrate.plan('upgrade', 'current');
SELECT * FROM migrate.plan('downgrade', 'rev01_users');
SELECT * FROM migrate.plan('downgrade', 'feat@base');
SELECT * FROM migrate.plan('downgrade', 'current');
-- stamp: only the current heads on the target's lineage move (rev05_feature,
-- on another branch, stays); unstamp rows go children first, stamp rows
-- parents first
SELECT * FROM migrate.plan('stamp', 'rev04_audit');
SELECT * FROM migrate.plan('stamp', 'base');
SELECT * FROM migrate.plan('stamp', 'current');
SELECT * FROM state;
SELECT count(*) - :history_before AS new_history_rows FROM migrate.history;

-- plan() errors
-- Invalid input: unknown operation (case matters)
SELECT * FROM migrate.plan('migrate', 'head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT * FROM migrate.plan('Upgrade', 'rev03_index');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT * FROM migrate.plan('unstamp', 'base');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: NULL operation or target
SELECT * FROM migrate.plan(NULL, 'head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT * FROM migrate.plan('upgrade', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Invalid input: upgrade to base, a malformed target
SELECT * FROM migrate.plan('upgrade', 'base');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT * FROM migrate.plan('downgrade', '-0');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Ambiguous: head with two graph heads
SELECT * FROM migrate.plan('upgrade', 'head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT * FROM migrate.plan('stamp', 'head');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- Unknown target
SELECT * FROM migrate.plan('downgrade', 'nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT * FROM migrate.plan('upgrade', 'feat@+2');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;

-- everything applied: two current heads
SELECT revision, message FROM migrate.upgrade('heads');
SELECT * FROM migrate.current();
SELECT * FROM migrate.heads();
SELECT revision, is_applied, is_head, is_current FROM migrate.revisions();
SELECT * FROM migrate.plan('upgrade', 'heads');
-- Not in prerequisite state: the plan refuses a downgrade through rev04_audit
SELECT * FROM migrate.plan('downgrade', 'rev02_email');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
SELECT * FROM migrate.plan('downgrade', 'base');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM state;
-- a downgrade that leaves rev04_audit applied can be planned
SELECT * FROM migrate.plan('downgrade', 'feat@base');

-- a merge of both heads: one graph head, one current head once applied
SELECT migrate.merge(id => 'rev07_merge');
SELECT * FROM migrate.heads();
SELECT revision, parents, is_applied, is_head, is_current FROM migrate.revisions('rev04_audit:');
SELECT revision, message FROM migrate.upgrade('head');
SELECT * FROM migrate.current();
SELECT revision, is_applied, is_head, is_current FROM migrate.revisions('current:heads');
SELECT revision FROM migrate.revisions('base:head');
SELECT id, parents, children FROM migrate.show('rev04');

-- clean up
SELECT migrate.stamp('rev03_index');
SELECT revision, message FROM migrate.downgrade('base');
DROP TABLE t_audit, t_feature, t_report;
SELECT * FROM state;
DROP VIEW state;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
