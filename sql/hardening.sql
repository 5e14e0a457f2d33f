SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- A revision leaves nothing behind in the caller's session (a DBA may run a
-- weaker registrant's revision after SET ROLE): its setting changes are
-- undone, its deferred constraints and triggers fire inside it, temporary
-- objects, holdable cursors and prepared statements it leaves are refused;
-- in upgrade, in deploy and under SET LOCAL ROLE.  add refuses role changes
-- and standard_conforming_strings changes, and SQL that reads differently
-- with standard_conforming_strings off.  A message or label edit keeps
-- created_by.  deploy checks every registrant before it commits anything.
\set VERBOSITY default
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.users, public.fired;
DROP ROLE IF EXISTS regress_harden_alice, regress_harden_bob;
RESET client_min_messages;

CREATE ROLE regress_harden_alice;
GRANT USAGE ON SCHEMA migrate TO regress_harden_alice;
GRANT EXECUTE ON FUNCTION migrate.add(text, text, text, text[], text, text[], text[], boolean, text[]),
                          migrate.upgrade(text), migrate.downgrade(text), migrate.stamp(text)
  TO regress_harden_alice;
GRANT EXECUTE ON PROCEDURE migrate.deploy(text) TO regress_harden_alice;
GRANT CREATE ON SCHEMA public TO regress_harden_alice;
CREATE TABLE public.users (id int);
INSERT INTO public.users VALUES (1), (2);
-- who a trigger fired as
CREATE TABLE public.fired (revision text, fired_as name);
GRANT INSERT, SELECT ON public.fired TO regress_harden_alice;

-- The issue's attack: a temporary view shadowing public.users over a
-- temporary function that would run as whoever reads it.
SET ROLE regress_harden_alice;
SELECT migrate.add('r_taint', $$CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE plpgsql AS $f$BEGIN
  IF current_setting('is_superuser') = 'on' THEN EXECUTE 'ALTER ROLE regress_harden_alice SUPERUSER'; END IF; RETURN 1; END$f$;
CREATE TEMP VIEW users AS SELECT pg_temp.f() AS id$$, 'SELECT 1', parents => '{}');
RESET ROLE;
-- upgrade under SET ROLE: refused, nothing left
SET ROLE regress_harden_alice;
SELECT * FROM migrate.upgrade('r_taint');
RESET ROLE;
SELECT count(*) AS users_rows FROM users;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_harden_alice';
SELECT count(*) AS temp_objects FROM pg_class WHERE relnamespace = pg_my_temp_schema();
SELECT count(*) AS applied FROM migrate.applied;
-- under SET LOCAL ROLE in the caller's transaction
BEGIN;
SET LOCAL ROLE regress_harden_alice;
SELECT * FROM migrate.upgrade('r_taint');
ROLLBACK;
-- deploy: the failure is recorded, nothing is applied, nothing is left
SET ROLE regress_harden_alice;
CALL migrate.deploy('r_taint');
RESET ROLE;
SELECT count(*) AS users_rows FROM users;
SELECT count(*) AS temp_objects FROM pg_class WHERE relnamespace = pg_my_temp_schema();
SELECT operation, revision, success, sqlstate, error FROM migrate.history
 WHERE operation = 'upgrade' ORDER BY id;

-- A temporary table the revision drops again is fine; so are temporary
-- objects the caller had before.
CREATE TEMP TABLE callers_own (x int);
SELECT migrate.add('r_temp_dropped', 'CREATE TEMP TABLE scratch AS SELECT 1 AS x; DROP TABLE scratch',
                   'SELECT 1', parents => '{}');
SELECT revision FROM migrate.upgrade('r_temp_dropped');
SELECT count(*) AS callers_own_rows FROM callers_own;
-- a temporary type or table left behind is refused too, in upgrade and deploy
SELECT migrate.add('r_temp_table', 'CREATE TEMP TABLE left_behind (x int)', 'SELECT 1', parents => '{}');
SELECT migrate.add('r_temp_type', 'CREATE TYPE pg_temp.mood AS ENUM (''ok'')', 'SELECT 1', parents => '{}');
SELECT revision FROM migrate.upgrade('r_temp_table');
SELECT revision FROM migrate.upgrade('r_temp_type');
CALL migrate.deploy('r_temp_type');
SELECT to_regclass('pg_temp.left_behind') AS left_behind, to_regtype('pg_temp.mood') AS mood;

-- Setting changes are undone when the revision ends, SET and set_config
-- alike, as with a function's SET clause; SET LOCAL too.
SET search_path = public;
SHOW work_mem;
SELECT migrate.add('r_settings', $$SET search_path = pg_temp, evil;
SELECT set_config('work_mem', '1234kB', false);
SET LOCAL statement_timeout = '7s';
CREATE TABLE public.settings_seen AS SELECT current_setting('search_path') AS search_path,
       current_setting('work_mem') AS work_mem, current_setting('statement_timeout') AS statement_timeout$$,
                   'DROP TABLE public.settings_seen', parents => '{}');
SELECT revision FROM migrate.upgrade('r_settings');
SELECT * FROM public.settings_seen;
SHOW search_path;
SHOW work_mem;
SHOW statement_timeout;
-- in deploy
SELECT revision FROM migrate.downgrade('base');
CALL migrate.deploy('r_settings');
SHOW search_path;
SHOW work_mem;
SELECT revision FROM migrate.downgrade('base');
-- under SET LOCAL ROLE, run by a weaker role for the superuser
BEGIN;
SET LOCAL ROLE regress_harden_alice;
SELECT revision FROM migrate.upgrade('r_settings');
SHOW search_path;
SHOW work_mem;
ROLLBACK;
-- in the caller's transaction, the caller's own SET LOCAL stays
BEGIN;
SET LOCAL work_mem = '2222kB';
SELECT revision FROM migrate.upgrade('r_settings');
SHOW work_mem;
SHOW search_path;
ROLLBACK;

-- Deferred constraint triggers fire inside the revision, as the role that
-- runs it, and their failure is the revision's.
SET ROLE regress_harden_alice;
SELECT migrate.add('r_deferred', $$CREATE TABLE public.deferred_t (x int);
CREATE FUNCTION public.record_fired() RETURNS trigger LANGUAGE plpgsql AS $f$BEGIN
  INSERT INTO public.fired VALUES (TG_ARGV[0], current_user); RETURN NULL; END$f$;
CREATE CONSTRAINT TRIGGER deferred_fire AFTER INSERT ON public.deferred_t
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.record_fired('r_deferred');
INSERT INTO public.deferred_t VALUES (1)$$,
                   'DROP TABLE public.deferred_t; DROP FUNCTION public.record_fired()', parents => '{}');
RESET ROLE;
BEGIN;
SET LOCAL ROLE regress_harden_alice;
SELECT revision FROM migrate.upgrade('r_deferred');
SELECT * FROM public.fired;
RESET ROLE;
COMMIT;
-- fired once, as alice, inside the revision: not again at COMMIT as the superuser
SELECT * FROM public.fired;
DELETE FROM public.fired;
-- a deferred trigger that fails fails its revision, named in the context
SELECT migrate.add('r_deferred_fails', $$CREATE TABLE public.deferred_u (x int UNIQUE DEFERRABLE INITIALLY DEFERRED);
INSERT INTO public.deferred_u VALUES (1), (1)$$, 'DROP TABLE public.deferred_u', parents => '{}');
SELECT revision FROM migrate.upgrade('r_deferred_fails');
CALL migrate.deploy('r_deferred_fails');
SELECT revision, success, sqlstate FROM migrate.history
 WHERE revision = 'r_deferred_fails' AND operation = 'upgrade' ORDER BY id;
-- a deferred trigger that calls migrate at COMMIT meets the nested-call rule
SELECT migrate.add('r_deferred_stamp', $$CREATE TABLE public.deferred_s (x int);
CREATE FUNCTION public.stamp_base() RETURNS trigger LANGUAGE plpgsql AS $f$BEGIN
  PERFORM migrate.stamp('base'); RETURN NULL; END$f$;
CREATE CONSTRAINT TRIGGER deferred_stamp AFTER INSERT ON public.deferred_s
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.stamp_base();
INSERT INTO public.deferred_s VALUES (1)$$,
                   'DROP TABLE public.deferred_s; DROP FUNCTION public.stamp_base()', parents => '{}');
SELECT revision FROM migrate.upgrade('r_deferred_stamp');
SELECT * FROM migrate.current() ORDER BY 1;
-- alice takes her revision down again
SET ROLE regress_harden_alice;
SELECT revision FROM migrate.downgrade('base');
RESET ROLE;

-- Holdable cursors and prepared statements left open are refused; closed
-- ones are fine.
SELECT migrate.add('r_hold', 'DECLARE c CURSOR WITH HOLD FOR SELECT migrate.add(''late'', ''SELECT 1'', parents => ''{}'')',
                   'SELECT 1', parents => '{}');
SELECT revision FROM migrate.upgrade('r_hold');
CALL migrate.deploy('r_hold');
BEGIN;
SET LOCAL ROLE regress_harden_alice;
SELECT revision FROM migrate.upgrade('r_hold');
ROLLBACK;
SELECT name FROM pg_cursors;
SELECT count(*) AS late FROM migrate.revision WHERE id = 'late';
SELECT migrate.add('r_hold_closed', 'DECLARE c CURSOR WITH HOLD FOR SELECT 1; CLOSE c',
                   'SELECT 1', parents => '{}');
SELECT revision FROM migrate.upgrade('r_hold_closed');
SELECT migrate.add('r_prepare', 'PREPARE p AS SELECT 1', 'SELECT 1', parents => '{}');
SELECT migrate.add('r_prepare', $o$DO $$BEGIN EXECUTE 'PREPARE p AS SELECT 1'; END$$$o$, 'SELECT 1', parents => '{}');
SELECT revision FROM migrate.upgrade('r_prepare');
SELECT name FROM pg_prepared_statements;
SELECT migrate.add('r_prepare_dealloc', $o$DO $$BEGIN EXECUTE 'PREPARE p AS SELECT 1'; EXECUTE 'DEALLOCATE p'; END$$$o$,
                   'SELECT 1', parents => '{}');
SELECT revision FROM migrate.upgrade('r_prepare_dealloc');
-- the caller's own cursor and prepared statement are not the revision's
BEGIN;
DECLARE mine CURSOR WITH HOLD FOR SELECT 1;
PREPARE mine_p AS SELECT 2;
SELECT revision FROM migrate.downgrade('base');
SELECT revision FROM migrate.upgrade('r_hold_closed');
COMMIT;
CLOSE mine;
DEALLOCATE mine_p;

-- add refuses role changes, naming the line
SELECT migrate.add('r_role', E'SELECT 1;\nSET ROLE regress_harden_alice', parents => '{}');
SELECT migrate.add('r_role', E'SELECT 1;\n\nRESET ROLE', parents => '{}');
SELECT migrate.add('r_role', 'SET LOCAL ROLE NONE', parents => '{}');
SELECT migrate.add('r_role', 'SET SESSION AUTHORIZATION regress_harden_alice', parents => '{}');
SELECT migrate.add('r_role', 'SELECT 1', down => 'RESET SESSION AUTHORIZATION', parents => '{}');
SELECT migrate.add('r_role', 'SET standard_conforming_strings = off', parents => '{}');
SELECT count(*) AS r_role FROM migrate.revision WHERE id = 'r_role';

-- standard_conforming_strings: SQL is parsed, checked and run with it on,
-- whatever the session says
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT migrate.add('r_shell', $$SELECT 'harmless\' \! id #'$$, parents => '{}');
SELECT migrate.add('r_backslash', $$CREATE TABLE public.backslash AS SELECT 'a\b' AS v, '^\S+$' AS re$$,
                   'DROP TABLE public.backslash', parents => '{}');
SELECT revision FROM migrate.upgrade('r_backslash');
SELECT v, length(v), re FROM public.backslash;
RESET standard_conforming_strings;
RESET escape_string_warning;
-- text valid with it on that psql would read differently with it off
SELECT migrate.add('r_mixed', E'SELECT 1;\nSELECT ''a\\'', $$'' \\! id $$', parents => '{}');
SELECT migrate.add('r_quote', E'SELECT ''it\\''''s''', parents => '{}');
SELECT count(*) AS refused_left FROM migrate.revision WHERE id IN ('r_shell', 'r_mixed', 'r_quote');
-- E'' strings, dollar quotes and backslashes before other characters are fine
SELECT migrate.add('r_escapes', E'SELECT E''it\\''s'', $$a\\''b$$, ''\\d+'';\nSELECT 2; SELECT 3', parents => '{}');
-- offline scripts set it, and put each statement on a line of its own
SELECT migrate.upgrade_sql('r_escapes', 'base');
-- a statement whose first word follows a comment on the line where the one
-- before ends is put on a new line; one after a line end in a comment is not
BEGIN;
SELECT migrate.add('r_comments', E'SELECT 1; /* one */ SELECT 2; /* over\ntwo lines */ SELECT 3', parents => '{}');
SELECT migrate.upgrade_sql('r_comments', 'base');
ROLLBACK;

-- A message or label edit by another role keeps created_by; the history row
-- names the editor.
SELECT migrate.add('r_owned', 'SELECT 1', 'SELECT 1', parents => '{}', message => 'by the DBA');
SET ROLE regress_harden_alice;
SELECT migrate.add('r_owned', 'SELECT 1', 'SELECT 1', parents => '{}', message => 'edited by alice',
                   branch_labels => '{alice_label}');
RESET ROLE;
SELECT id, message, branch_labels, created_by FROM migrate.revision WHERE id = 'r_owned';
SELECT operation, effective_role FROM migrate.history WHERE revision = 'r_owned' ORDER BY id;
-- a change of SQL makes the new adder the registrant
SET ROLE regress_harden_alice;
SELECT migrate.add('r_owned', 'SELECT 2', 'SELECT 1', parents => '{}', message => 'edited by alice');
RESET ROLE;
SELECT id, created_by FROM migrate.revision WHERE id = 'r_owned';

-- deploy checks every revision of its plan before it commits the first
SELECT revision FROM migrate.downgrade('base');
SELECT migrate.add('r_dba_first', 'CREATE TABLE public.dba_first ()', 'DROP TABLE public.dba_first', parents => '{}');
SET ROLE regress_harden_alice;
SELECT migrate.add('r_alice_second', 'SELECT 1', 'SELECT 1', parents => '{r_dba_first}');
RESET ROLE;
CALL migrate.deploy('r_alice_second');
SELECT count(*) AS applied FROM migrate.applied;
SELECT to_regclass('public.dba_first') AS dba_first;

-- Approval: a role holding the registrant's privileges approves a revision
-- as it is now; it then runs for callers whose privileges the approver
-- holds.  Any later add or replace voids it.
SELECT revision FROM migrate.downgrade('base');
CREATE ROLE regress_harden_bob;
GRANT USAGE ON SCHEMA migrate TO regress_harden_bob;
GRANT EXECUTE ON FUNCTION migrate.approve(text, text) TO regress_harden_bob;
SET ROLE regress_harden_alice;
SELECT migrate.add('r_proposed', 'CREATE TABLE public.proposed (id int)', 'DROP TABLE public.proposed', parents => '{}');
RESET ROLE;
SELECT revision FROM migrate.upgrade('r_proposed');
-- approve needs the current checksum when one is given, an existing id, a role above the registrant
SELECT migrate.approve('r_proposed', '0000000000000000000000000000000000000000000000000000000000000000');
SELECT migrate.approve('r_nonesuch');
SELECT migrate.approve(NULL);
SET ROLE regress_harden_bob;
SELECT migrate.approve('r_proposed');
RESET ROLE;
SELECT count(*) AS approvals FROM migrate.history WHERE operation = 'approve';
SELECT migrate.approve('r_proposed', checksum) = checksum AS approved FROM migrate.revision WHERE id = 'r_proposed';
SELECT operation, revision, effective_role, checksum = (SELECT checksum FROM migrate.revision WHERE id = 'r_proposed') AS same_checksum
  FROM migrate.history WHERE operation = 'approve';
SELECT revision FROM migrate.upgrade('r_proposed');
SELECT tableowner FROM pg_tables WHERE tablename = 'proposed';
SELECT revision FROM migrate.downgrade('base');
-- a replace voids the approval, even one back to the approved SQL
SET ROLE regress_harden_alice;
SELECT migrate.add('r_proposed', 'CREATE TABLE public.proposed (id int, evil text)', 'DROP TABLE public.proposed', parents => '{}');
RESET ROLE;
SELECT revision FROM migrate.upgrade('r_proposed');
SET ROLE regress_harden_alice;
SELECT migrate.add('r_proposed', 'CREATE TABLE public.proposed (id int)', 'DROP TABLE public.proposed', parents => '{}');
RESET ROLE;
SELECT revision FROM migrate.upgrade('r_proposed');
SELECT * FROM migrate.verify();

-- clean up
SELECT revision FROM migrate.downgrade('base');
DROP TABLE public.users, public.fired;
DROP OWNED BY regress_harden_alice, regress_harden_bob;
DROP ROLE regress_harden_alice, regress_harden_bob;
