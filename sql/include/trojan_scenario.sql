-- The scenario sql/trojans.sql runs twice, without and with the trojans:
-- every call of migrate once, each step snapshotted into pg_temp.snaps.
SELECT migrate.add('tr1', 'CREATE TABLE public.t_tr1 (id int)', 'DROP TABLE public.t_tr1', message => 'one');
SELECT migrate.add('tr2a', 'CREATE TABLE public.t_tr2a (id int)', 'DROP TABLE public.t_tr2a', parents => '{tr1}');
SELECT migrate.add('tr2b', 'CREATE TABLE public.t_tr2b (id int)', 'DROP TABLE public.t_tr2b', parents => '{tr1}',
                   branch_labels => '{side}');
-- replace an unapplied revision, add and remove another
SELECT migrate.add('tr2b', 'CREATE TABLE public.t_tr2b (id bigint)', 'DROP TABLE public.t_tr2b', parents => '{tr1}',
                   branch_labels => '{side}');
SELECT migrate.add('tr9', '', '', parents => '{tr2a}');
SELECT migrate.remove('tr9');
SELECT migrate.merge(message => 'join', id => 'tr3');
SELECT migrate.add('tr4', 'CREATE TABLE public.t_tr4 (id int)', 'DROP TABLE public.t_tr4',
                   depends_on => '{tr2a}', message => 'four');
SELECT pg_temp.snap(:'phase', 1);
-- the same add again is a no-op; a label must be unique; an unknown parent
SELECT migrate.add('tr1', 'CREATE TABLE public.t_tr1 (id int)', 'DROP TABLE public.t_tr1', message => 'one');
SELECT migrate.add('tr5', '', branch_labels => '{side}');
SELECT migrate.add('tr5', '', parents => '{nope}');
SELECT pg_temp.snap(:'phase', 2);
SELECT * FROM migrate.plan('upgrade', 'tr2a');
SELECT revision, message FROM migrate.upgrade('tr2a');
SELECT pg_temp.snap(:'phase', 3);
SELECT revision, message FROM migrate.upgrade('head');
SELECT pg_temp.snap(:'phase', 4);
SELECT * FROM migrate.current();
SELECT current_heads, heads, pending, up_to_date, lock_holder_pid FROM migrate.status;
SELECT revision, message FROM migrate.downgrade('side@base');
SELECT pg_temp.snap(:'phase', 5);
-- stamp: tr2a out and in again (its table stays), no SQL runs
SELECT migrate.stamp('tr1');
SELECT pg_temp.snap(:'phase', 6);
SELECT migrate.stamp('tr2a');
SELECT pg_temp.snap(:'phase', 7);
SELECT revision, message FROM migrate.upgrade('heads');
SELECT current_heads, heads, pending, up_to_date, lock_holder_pid FROM migrate.status;
-- a deploy whose revision fails (its table exists): a success = false row
SELECT migrate.add('tr5', 'CREATE TABLE public.t_tr1 (id int)', '', message => 'fails');
CALL migrate.deploy();
SELECT pg_temp.snap(:'phase', 8);
SELECT migrate.check();
SELECT migrate.remove('tr5');
SELECT migrate.check();
SELECT * FROM migrate.verify();
SELECT revision, parents, is_applied, is_head, is_current FROM migrate.revisions();
SELECT id, parents, depends_on, branch_labels, message, children, is_applied FROM migrate.show('side');
SELECT pg_temp.snap(:'phase', 9);
SELECT revision FROM migrate.downgrade('base');
SELECT pg_temp.snap(:'phase', 10);
SELECT * FROM migrate.verify();
