-- Real projects move in (1.1): ids as projects name them (with "-"),
-- amendments of applied revisions (comments and whitespace only), repair()
-- of an applied revision's SQL, parents '{base}', and clearer messages.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;

-- Nothing registered: upgrade says so, rather than "nothing to upgrade"
SELECT * FROM migrate.upgrade('head');

-- Ids with "-", as diesel and golang-migrate name them; parents '{base}' is a root
SELECT migrate.add('2019-02-26-002946_create_user', 'CREATE TABLE rp_user (id int)',
                   'DROP TABLE rp_user', parents => '{base}');
SELECT migrate.add('2019-03-01-101010_add-email', 'ALTER TABLE rp_user ADD email text',
                   'ALTER TABLE rp_user DROP email');
SELECT migrate.add('x-1', 'CREATE TABLE rp_x (id int)', 'DROP TABLE rp_x');
SELECT migrate.add('x', 'SELECT 1', 'SELECT 2', parents => '{x-1}');
SELECT revision, parents FROM migrate.revisions();
-- an id wins over every other reading: "x-1" is that id, not one step below x
SELECT * FROM migrate.plan('upgrade', 'x-1');
-- a prefix with "-" is a prefix; "-N" at the end is a step when nothing starts so
SELECT * FROM migrate.plan('upgrade', '2019-02');
SELECT revision FROM migrate.upgrade('head');
SELECT * FROM migrate.plan('downgrade', 'x-1');
SELECT * FROM migrate.plan('downgrade', 'x-2');
SELECT * FROM migrate.plan('downgrade', '2019-03-01-101010_add-email-1');
SELECT id FROM migrate.show('2019-03');
-- Invalid input: ids may not start with "-" or ".", nor hold other characters
SELECT migrate.add('-x', '');
SELECT migrate.add('x/y', '');
SELECT migrate.add('x', '', parents => '{base,x-1}');

-- Past the base: how far it goes
SELECT * FROM migrate.plan('downgrade', '-9');
SELECT * FROM migrate.plan('downgrade', 'x-1-5');

-- Amendment: an applied revision's text with comments and whitespace changed,
-- its statements the same token for token, is stored with its new checksum,
-- recorded as an amend row, and nothing runs
SELECT checksum AS old_checksum FROM migrate.revision WHERE id = '2019-03-01-101010_add-email' \gset
SELECT migrate.add('2019-03-01-101010_add-email',
                   E'-- the email column\nALTER TABLE   rp_user\n  ADD email text;  -- nullable',
                   'ALTER TABLE rp_user DROP email');
SELECT r.checksum <> :'old_checksum' AS new_checksum, a.checksum = r.checksum AS applied_checksum,
       r.created_by
  FROM migrate.revision r JOIN migrate.applied a ON a.revision = r.id
 WHERE r.id = '2019-03-01-101010_add-email';
SELECT operation, revision, checksum = (SELECT checksum FROM migrate.revision WHERE id = revision) AS new,
       detail ->> 'old_checksum' = :'old_checksum' AS has_old,
       detail ->> 'new_checksum' = checksum AS has_new
  FROM migrate.history WHERE operation = 'amend';
SELECT * FROM migrate.verify();
-- not an amendment: a statement changed (a keyword's case is a change too)
SELECT migrate.add('2019-03-01-101010_add-email', 'ALTER TABLE rp_user ADD email varchar',
                   'ALTER TABLE rp_user DROP email');
SELECT migrate.add('2019-03-01-101010_add-email', 'alter table rp_user add email text',
                   'ALTER TABLE rp_user DROP email');
-- nor one that drops the down SQL, or changes the parents
SELECT migrate.add('2019-03-01-101010_add-email', 'ALTER TABLE rp_user ADD email text');
SELECT migrate.add('x', 'SELECT 1', 'SELECT 2', parents => '{2019-03-01-101010_add-email}');

-- repair(): an applied revision's SQL replaced without running it
SELECT migrate.add('rp_irrev', 'CREATE TABLE rp_irrev (id int)', parents => '{x}');
SELECT revision FROM migrate.upgrade('head');
-- an irreversible revision's hint names repair()
SELECT * FROM migrate.downgrade('x');
SELECT checksum AS irrev_checksum FROM migrate.revision WHERE id = 'rp_irrev' \gset
SELECT migrate.repair('rp_irrev', 'CREATE TABLE rp_irrev (id int)', 'DROP TABLE rp_irrev') <> :'irrev_checksum'
    AS changed;
SELECT operation, detail ->> 'old_checksum' = :'irrev_checksum' AS has_old, success
  FROM migrate.history WHERE operation = 'repair';
SELECT down_sql FROM migrate.show('rp_irrev');
SELECT * FROM migrate.verify();
-- the same again: nothing to do, no row
SELECT migrate.repair('rp_irrev', 'CREATE TABLE rp_irrev (id int)', 'DROP TABLE rp_irrev') IS NOT NULL AS same;
SELECT count(*) FROM migrate.history WHERE operation = 'repair';
-- now it downgrades
SELECT revision FROM migrate.downgrade('x');
-- Invalid input: repair of an unapplied or unknown revision, bad SQL, NULLs
SELECT migrate.repair('rp_irrev', 'SELECT 1');
SELECT migrate.repair('nope', 'SELECT 1');
SELECT migrate.repair('x', 'SELEC 1');
SELECT migrate.repair('x', NULL);
SELECT migrate.repair(NULL, 'SELECT 1');
SELECT count(*) FROM migrate.history WHERE operation = 'repair';

-- repair needs the privileges of the revision's registrant
CREATE ROLE regress_rp_weak;
GRANT USAGE ON SCHEMA migrate TO regress_rp_weak;
GRANT EXECUTE ON FUNCTION migrate.repair(text, text, text) TO regress_rp_weak;
SET ROLE regress_rp_weak;
SELECT migrate.repair('x', 'SELECT 3', 'SELECT 4');
RESET ROLE;
REVOKE ALL ON FUNCTION migrate.repair(text, text, text) FROM regress_rp_weak;
REVOKE USAGE ON SCHEMA migrate FROM regress_rp_weak;
DROP ROLE regress_rp_weak;

-- Errors of a revision from a file name the file's line
SELECT migrate.add_script(E'-- migrate:revision rp_file\n-- migrate:parents x\n-- migrate:message from a file\n-- migrate:up\nSELECT 1;\n\nCREAT TABLE t (id int);\n-- migrate:down\nSELECT 2;\n');
SELECT migrate.add_script(E'-- migrate:revision rp_file\n-- migrate:parents x\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\nSET ROLE postgres;\n');

SELECT revision FROM migrate.downgrade('base');
