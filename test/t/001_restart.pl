# The migration state survives a server restart and a crash: applied
# revisions, history, current heads and the tables the revisions created are
# all there afterwards, and upgrading again applies nothing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

# Returns the output of one query (rows on lines, columns split by '|').
sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# Everything the state tables say, as one string to compare.
my $state_sql = q{
	SELECT 'applied', string_agg(revision || ':' || checksum, ',' ORDER BY revision)
	  FROM migrate.applied
	UNION ALL
	SELECT 'history', count(*)::text FROM migrate.history
	UNION ALL
	SELECT 'current', string_agg(c, ',' ORDER BY c) FROM migrate.current() AS c
	UNION ALL
	SELECT 'tables', string_agg(relname, ',' ORDER BY relname)
	  FROM pg_class
	 WHERE relname IN ('t1', 't2', 't3', 't4') AND relkind = 'r'
	   AND relnamespace = 'public'::regnamespace
};

query('CREATE EXTENSION migrate');
query(q{
	SELECT migrate.add('0001_t1', up => 'CREATE TABLE t1 (id int PRIMARY KEY)',
					   down => 'DROP TABLE t1');
	SELECT migrate.add('0002_t2', up => 'CREATE TABLE t2 (id int REFERENCES t1)',
					   down => 'DROP TABLE t2', parents => ARRAY['0001_t1']);
	SELECT migrate.add('0003_t3', up => 'CREATE TABLE t3 (v text); INSERT INTO t3 VALUES (''kept'')',
					   down => 'DROP TABLE t3', parents => ARRAY['0002_t2']);
});

is(query(q{SELECT revision FROM migrate.upgrade('head')}),
	"0001_t1\n0002_t2\n0003_t3",
	'upgrade applies the three revisions, parents first');
is(query('SELECT revision FROM migrate.applied ORDER BY revision'),
	"0001_t1\n0002_t2\n0003_t3",
	'all three are recorded as applied');
is( query(q{
		SELECT count(*) FROM migrate.history
		 WHERE operation = 'upgrade' AND success}),
	'3',
	'history has one successful upgrade row per revision');
is(query('SELECT * FROM migrate.current()'),
	'0003_t3', 'current() is the last revision');
is(query('SELECT v FROM t3'), 'kept', 'the revisions created their tables');

my $before = query($state_sql);

$node->restart;
is(query($state_sql), $before,
	'applied, history, current() and tables are intact after a restart');

# An immediate stop skips the shutdown checkpoint, so the start replays WAL.
$node->stop('immediate');
$node->start;
is(query($state_sql), $before, 'the same after crash recovery');

my ($rc, $stdout, $stderr) =
  $node->psql('postgres', q{SELECT revision FROM migrate.upgrade('head')});
is($rc, 0, 'a second upgrade succeeds');
is($stdout, '', 'a second upgrade applies nothing');
like($stderr, qr/NOTICE/, 'a second upgrade says there is nothing to do');
is(query($state_sql), $before, 'a second upgrade changes no state');

# The graph is usable after the restart: a new revision goes on top.
query(q{
	SELECT migrate.add('0004_t4', up => 'CREATE TABLE t4 (id int)',
					   down => 'DROP TABLE t4', parents => ARRAY['0003_t3']);
});
is(query(q{SELECT revision FROM migrate.upgrade('head')}),
	'0004_t4', 'after the restart, upgrade applies only the new revision');
is(query('SELECT * FROM migrate.current()'),
	'0004_t4', 'current() moves to the new revision');

$node->stop;
done_testing();
