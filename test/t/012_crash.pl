# A deployer's backend is killed with SIGKILL in the middle of a slow
# revision (SPEC section 4: "A crashed deployer releases the lock with its
# session").  The postmaster restarts the cluster; afterwards nothing of the
# killed upgrade remains, no advisory lock is held, and the next upgrade
# applies everything.  For deploy, which commits after each revision, the
# revisions before the killed one stay applied and the rest follow on the
# next call.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MigrateTest;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
# Cluster.pm turns the crash restart off; this test needs it.
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->start;

sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# Waits until a backend shows the given progress in pg_stat_activity.query
# and returns its pid.
sub backend_showing
{
	my ($progress) = @_;
	my $sql = qq{SELECT count(*) FROM pg_stat_activity WHERE query = '$progress'};
	$node->poll_query_until('postgres', $sql, '1')
	  or die "no backend shows \"$progress\"";
	return query(qq{SELECT pid FROM pg_stat_activity WHERE query = '$progress'});
}

# SIGKILLs a backend and waits until the cluster has restarted.
sub kill_backend
{
	my ($pid) = @_;
	my $offset = -s $node->logfile;
	is(kill('KILL', $pid), 1, 'SIGKILL sent to the deployer\'s backend');
	$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
	$node->wait_for_log(qr/database system is ready to accept connections/, $offset);
	ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'the cluster is back');
}

my $state_sql = q{
	SELECT 'applied:' || coalesce(string_agg(revision, ',' ORDER BY revision), '')
	  FROM migrate.applied
	UNION ALL
	SELECT 'history:' || coalesce(string_agg(revision || '=' || success, ',' ORDER BY id), '')
	  FROM migrate.history WHERE operation = 'upgrade'
	UNION ALL
	SELECT 'tables:' || coalesce(string_agg(relname, ',' ORDER BY relname), '')
	  FROM pg_class WHERE relname LIKE 'k\_%' AND relkind = 'r'
	   AND relnamespace = 'public'::regnamespace
	UNION ALL
	SELECT 'locks:' || count(*) FROM pg_locks WHERE locktype = 'advisory'
};

query('CREATE EXTENSION migrate');
query(q{
	SELECT migrate.add('r1', up => 'CREATE TABLE k_1 (id int)', down => 'DROP TABLE k_1');
	SELECT migrate.add('r2', up => 'CREATE TABLE k_2 (id int); INSERT INTO k_2 VALUES (2)',
					   down => 'DROP TABLE k_2');
	SELECT migrate.add('r3', up => 'CREATE TABLE k_3 (id int); SELECT pg_sleep(30)',
					   down => 'DROP TABLE k_3', message => 'slow');
	SELECT migrate.add('r4', up => 'CREATE TABLE k_4 (id int)', down => 'DROP TABLE k_4');
	SELECT migrate.add('r5', up => 'CREATE TABLE k_5 (id int)', down => 'DROP TABLE k_5');
});

# upgrade() runs in one transaction: killed in revision 3 of 5, it leaves
# nothing.
my $deployer = start_client($node, 'deployer', 'SET client_min_messages = warning',
	q{SELECT count(*) FROM migrate.upgrade('head')});
my $pid = backend_showing('migrate: upgrade 3/5 r3');
ok( $node->poll_query_until('postgres',
		qq{SELECT application_name || ': ' || wait_event FROM pg_stat_activity WHERE pid = $pid},
		'deployer: PgSleep'),
	'the backend showing "migrate: upgrade 3/5 r3" is the deployer, asleep in r3');
is( query(qq{
		SELECT mode || ':' || granted FROM pg_locks
		 WHERE locktype = 'advisory' AND pid = $pid AND objsubid = 1
		   AND ((classid::bigint << 32) | objid::bigint) = migrate.lock_key()}),
	'ExclusiveLock:true',
	'it holds the deploy lock');

kill_backend($pid);
isnt(finish_client($deployer), 0, 'the killed deployer\'s psql fails');
like($deployer->{err}, qr/server closed the connection unexpectedly/,
	'it lost its connection');

is(query($state_sql), "applied:\nhistory:\ntables:\nlocks:0",
	'after the crash nothing of the upgrade remains and no lock is held');
is(query(q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'migrate:%'}),
	'0', 'no backend shows migrate progress');

# r3 is not applied, so it may be replaced by a fast version.
query(q{
	SELECT migrate.add('r3', up => 'CREATE TABLE k_3 (id int)', down => 'DROP TABLE k_3',
					   message => 'fast');
});
is( query(q{SET client_min_messages = warning; SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}),
	'r1,r2,r3,r4,r5',
	'the next upgrade applies all five');
is( query($state_sql),
	"applied:r1,r2,r3,r4,r5\nhistory:r1=true,r2=true,r3=true,r4=true,r5=true\n"
	  . "tables:k_1,k_2,k_3,k_4,k_5\nlocks:0",
	'each revision is applied and logged once');
is(query('SELECT * FROM k_2'), '2', 'r2 ran once');

# deploy() commits after each revision: killed in revision 2 of 3, the first
# one stays applied.
query(q{
	SELECT migrate.add('r6', up => 'CREATE TABLE k_6 (id int)', down => 'DROP TABLE k_6');
	SELECT migrate.add('r7', up => 'CREATE TABLE k_7 (id int); SELECT pg_sleep(30)',
					   down => 'DROP TABLE k_7', message => 'slow');
	SELECT migrate.add('r8', up => 'CREATE TABLE k_8 (id int)', down => 'DROP TABLE k_8');
});
$deployer = start_client($node, 'deployer', 'SET client_min_messages = warning',
	'CALL migrate.deploy()');
$pid = backend_showing('migrate: deploy 2/3 r7');
ok( $node->poll_query_until('postgres',
		qq{SELECT application_name || ': ' || wait_event FROM pg_stat_activity WHERE pid = $pid},
		'deployer: PgSleep'),
	'the backend showing "migrate: deploy 2/3 r7" is the deployer, asleep in r7');
is(query('SELECT revision FROM migrate.applied WHERE revision > \'r5\''),
	'r6', 'r6 is committed while r7 runs');

kill_backend($pid);
isnt(finish_client($deployer), 0, 'the killed deployer\'s psql fails');

is( query($state_sql),
	"applied:r1,r2,r3,r4,r5,r6\nhistory:r1=true,r2=true,r3=true,r4=true,r5=true,r6=true\n"
	  . "tables:k_1,k_2,k_3,k_4,k_5,k_6\nlocks:0",
	'after the crash r6 is applied, nothing of r7 remains, no lock is held');

query(q{
	SELECT migrate.add('r7', up => 'CREATE TABLE k_7 (id int)', down => 'DROP TABLE k_7',
					   message => 'fast');
});
my ($rc, $stdout, $stderr) = $node->psql('postgres', 'CALL migrate.deploy()');
is($rc, 0, 'the next deploy succeeds');
is( $stderr,
	qq{psql:<stdin>:1: NOTICE:  deploy 1/2: revision "r7" - fast\n}
	  . qq{psql:<stdin>:1: NOTICE:  deploy 2/2: revision "r8"},
	'it applies r7 and r8');
is( query($state_sql),
	"applied:r1,r2,r3,r4,r5,r6,r7,r8\n"
	  . "history:r1=true,r2=true,r3=true,r4=true,r5=true,r6=true,r7=true,r8=true\n"
	  . "tables:k_1,k_2,k_3,k_4,k_5,k_6,k_7,k_8\nlocks:0",
	'each revision is applied and logged once');

$node->stop;
done_testing();
