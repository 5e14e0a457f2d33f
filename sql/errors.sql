-- The SQLSTATE contract of SPEC section 5, call by call: NULLs everywhere,
-- unknown, ambiguous and malformed input, and the states that refuse a call.
-- Each call runs through sqlstate_of(), which reports the SQLSTATE alone;
-- the messages themselves are shown by the feature tests.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
RESET client_min_messages;

CREATE FUNCTION sqlstate_of(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE call;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

SET client_min_messages = warning;
SELECT migrate.add('r1', 'CREATE TABLE t_r1 (id int)', 'DROP TABLE t_r1');
SELECT migrate.add('r2', 'CREATE TABLE t_r2 (id int)', NULL);
SELECT migrate.add('r3a', '', '', parents => '{r2}', branch_labels => '{left}');
SELECT migrate.add('r3b', '', '', parents => '{r2}', branch_labels => '{right}');
SELECT migrate.add('abcd1', '', '', parents => '{r3a}');
SELECT migrate.add('abcd2', '', '', parents => '{r3b}');
SELECT revision FROM migrate.upgrade('r2');

SELECT call, sqlstate_of(call) FROM (VALUES
  -- NULL where a value is needed: 22023
  ($$SELECT migrate.upgrade(NULL)$$),
  ($$SELECT migrate.downgrade(NULL)$$),
  ($$SELECT migrate.stamp(NULL)$$),
  ($$SELECT migrate.remove(NULL)$$),
  ($$SELECT migrate.show(NULL)$$),
  ($$SELECT migrate.plan(NULL, 'head')$$),
  ($$SELECT migrate.plan('upgrade', NULL)$$),
  ($$SELECT migrate.add('x', NULL)$$),
  ($$SELECT migrate.add('x', '', parents => ARRAY[NULL])$$),
  ($$SELECT migrate.merge(ARRAY['abcd1', NULL])$$),
  -- malformed targets, ids and labels: 22023
  ($$SELECT migrate.upgrade('')$$),
  ($$SELECT migrate.upgrade('r 1')$$),
  ($$SELECT migrate.upgrade('r1;DROP TABLE t_r1')$$),
  ($$SELECT migrate.upgrade('+0')$$),
  ($$SELECT migrate.upgrade('+')$$),
  ($$SELECT migrate.upgrade('+x')$$),
  ($$SELECT migrate.upgrade('+99999999999')$$),
  ($$SELECT migrate.upgrade('left@')$$),
  ($$SELECT migrate.upgrade('@head')$$),
  ($$SELECT migrate.upgrade('left@sideways')$$),
  ($$SELECT migrate.upgrade('left@@head')$$),
  ($$SELECT migrate.upgrade('base')$$),
  ($$SELECT migrate.upgrade(repeat('x', 1000))$$),
  ($$SELECT migrate.upgrade('heads+1')$$),
  ($$SELECT migrate.plan('sideways', 'head')$$),
  ($$SELECT migrate.revisions('head')$$),
  ($$SELECT migrate.add('bad id', '')$$),
  ($$SELECT migrate.add('x', '', branch_labels => '{base}')$$),
  ($$SELECT migrate.merge(ARRAY['abcd1'])$$),
  -- unknown revision, label or target: 42704
  ($$SELECT migrate.upgrade('nope')$$),
  ($$SELECT migrate.upgrade('r1x')$$),
  ($$SELECT migrate.upgrade('nope@head')$$),
  ($$SELECT migrate.downgrade('nope')$$),
  ($$SELECT migrate.stamp('nope')$$),
  ($$SELECT migrate.show('nope')$$),
  ($$SELECT migrate.remove('nope')$$),
  ($$SELECT migrate.plan('upgrade', 'nope')$$),
  ($$SELECT migrate.merge(ARRAY['abcd1', 'nope'])$$),
  ($$SELECT migrate.downgrade('-5')$$),
  ($$SELECT migrate.upgrade('abcd1+1')$$),
  -- ambiguous: 21000
  ($$SELECT migrate.upgrade('head')$$),
  ($$SELECT migrate.upgrade('abcd')$$),
  ($$SELECT migrate.upgrade('r2+1')$$),
  ($$SELECT migrate.show('abcd')$$),
  ($$SELECT migrate.add('x', '')$$),
  -- duplicate label, applied revision with other content: 42710
  ($$SELECT migrate.add('x', '', parents => '{r1}', branch_labels => '{left}')$$),
  ($$SELECT migrate.add('r1', 'CREATE TABLE t_r1 (id bigint)', 'DROP TABLE t_r1')$$),
  -- cycle, missing parent, merge of related revisions: 23514
  ($$SELECT migrate.add('r3a', '', '', parents => '{abcd1}', branch_labels => '{left}')$$),
  ($$SELECT migrate.add('x', '', parents => '{missing}')$$),
  ($$SELECT migrate.add('x', '', parents => '{r1}', depends_on => '{missing}')$$),
  ($$SELECT migrate.merge(ARRAY['r1', 'abcd1'])$$),
  -- irreversible downgrade, remove of applied or referenced: 55000
  ($$SELECT migrate.downgrade('base')$$),
  ($$SELECT migrate.downgrade('r1')$$),
  ($$SELECT migrate.remove('r1')$$),
  ($$SELECT migrate.remove('r3a')$$),
  -- syntax errors at add: 42601; non-transactional statements: 25001
  ($$SELECT migrate.add('x', 'CREATE TABLE (')$$),
  ($$SELECT migrate.add('x', 'SELECT 1', 'DROP TABL x')$$),
  ($$SELECT migrate.add('x', 'VACUUM', transactional => true)$$),
  ($$SELECT migrate.add('x', 'CREATE INDEX CONCURRENTLY i ON t_r1 (id)', transactional => true)$$),
  -- downgrade has no default target
  ($$SELECT migrate.downgrade()$$)
) AS calls(call);

-- none of those calls changed anything
SELECT revision FROM migrate.applied ORDER BY 1;
SELECT count(*) FROM migrate.revision;
SELECT operation, count(*) FROM migrate.history GROUP BY 1 ORDER BY 1;

-- state-changing calls need READ COMMITTED (25000) ...
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT migrate.upgrade('head');
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT migrate.add('x', '');
ROLLBACK;
-- ... and a writable transaction (25006), checked before any lock is taken
BEGIN READ ONLY;
SELECT migrate.stamp('base');
ROLLBACK;
BEGIN READ ONLY;
SELECT migrate.upgrade('head');
ROLLBACK;
-- read-only calls work in any transaction
BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY;
SELECT * FROM migrate.current();
SELECT count(*) FROM migrate.plan('upgrade', 'left@head');
COMMIT;

-- a revision's SQL cannot call back into migrate (55000)
SELECT migrate.add('nested', 'SELECT migrate.stamp(''base'')', '', parents => '{abcd1}');
SELECT revision FROM migrate.upgrade('nested');
SELECT revision FROM migrate.applied ORDER BY 1;
-- and a caller's exception block does not leave an operation behind
SELECT sqlstate_of($$SELECT migrate.upgrade('nested')$$);
SELECT revision FROM migrate.upgrade('abcd1');
SELECT migrate.stamp('r2');

-- GUC migrate.lock_wait
SHOW migrate.lock_wait;
SET migrate.lock_wait = off;
SHOW migrate.lock_wait;
SET migrate.lock_wait = 'maybe';
RESET migrate.lock_wait;
-- the prefix is reserved
SET migrate.lock_wiat = off;

SELECT migrate.stamp('base');
DROP TABLE t_r1, t_r2;
DROP FUNCTION sqlstate_of(text);
RESET client_min_messages;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
