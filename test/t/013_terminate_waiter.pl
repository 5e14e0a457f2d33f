# pg_terminate_backend() on deployers (SPEC section 4).
#  - A deployer waiting for the deploy lock is terminated: its session dies,
#    the holder goes on and commits, another waiter is not disturbed, and no
#    lock is left.
#  - The holder itself is terminated: its uncommitted work goes, the lock
#    goes with its session, and the waiter gets it and applies everything.
#  - The holder is a plain session of a role with no grant on migrate that
#    took the key with pg_advisory_xact_lock(): a deployer with
#    migrate.lock_wait = off is refused with 55P03 naming its pid, role and
#    application_name; the README's query finds it, pg_terminate_backend()
#    ends it, and the deploy goes through.
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
$node->start;

sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

sub pid_of
{
	my ($name) = @_;
	return query(qq{SELECT pid FROM pg_stat_activity WHERE application_name = '$name'});
}

# Who holds and who waits for the deploy lock, by application_name.
my $lock_sql = q{
	SELECT coalesce(string_agg(a.application_name || ':' || l.granted, ','
							   ORDER BY l.granted DESC, a.application_name), '')
	  FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	 WHERE l.locktype = 'advisory' AND l.objsubid = 1
	   AND ((l.classid::bigint << 32) | l.objid::bigint) = migrate.lock_key()};

my $state_sql = q{
	SELECT 'applied:' || coalesce(string_agg(revision, ',' ORDER BY revision), '')
	  FROM migrate.applied
	UNION ALL
	SELECT 'history:' || coalesce(string_agg(revision || '=' || application_name, ',' ORDER BY id), '')
	  FROM migrate.history WHERE operation = 'upgrade' AND success
	UNION ALL
	SELECT 'failures:' || count(*) FROM migrate.history WHERE NOT success
	UNION ALL
	SELECT 'tables:' || coalesce(string_agg(relname, ',' ORDER BY relname), '')
	  FROM pg_class WHERE relname LIKE 'w\_%' AND relkind = 'r'
	   AND relnamespace = 'public'::regnamespace
	UNION ALL
	SELECT 'locks:' || count(*) FROM pg_locks WHERE locktype = 'advisory'
};

sub setup_graph
{
	query(q{
		SET client_min_messages = warning;
		DROP EXTENSION IF EXISTS migrate;
		DROP TABLE IF EXISTS w_1, w_2, w_3;
		CREATE EXTENSION migrate;
		SELECT migrate.add('r1', up => 'CREATE TABLE w_1 (id int)', down => 'DROP TABLE w_1');
		SELECT migrate.add('r2', up => 'CREATE TABLE w_2 (id int)', down => 'DROP TABLE w_2');
		SELECT migrate.add('r3', up => 'CREATE TABLE w_3 (id int)', down => 'DROP TABLE w_3');
	});
}

# 1. A waiting deployer is terminated.
setup_graph();
my $holder = $node->background_psql('postgres');
$holder->query_safe('SET client_min_messages = warning');
$holder->query_safe('SET application_name = holder');
$holder->query_safe('BEGIN');
is($holder->query_safe(q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}),
	'r1,r2,r3', 'the holder applies r1..r3 in an open transaction');

my $victim = start_client($node, 'victim', 'SET client_min_messages = warning',
	'CALL migrate.deploy()');
ok( $node->poll_query_until('postgres', $lock_sql, 'holder:true,victim:false'),
	'a deploy waits for the holder\'s lock');
my $bystander = start_client($node, 'bystander', 'SET client_min_messages = warning',
	q{SELECT count(*) FROM migrate.upgrade('head')});
ok( $node->poll_query_until('postgres', $lock_sql,
		'holder:true,bystander:false,victim:false'),
	'an upgrade waits too');

my $victim_pid = pid_of('victim');
is(query("SELECT pg_terminate_backend($victim_pid)"), 't',
	'pg_terminate_backend() of the waiting deploy');
isnt(finish_client($victim), 0, 'the terminated deploy fails');
like($victim->{err}, qr/FATAL:  terminating connection due to administrator command/,
	'its session was terminated');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $victim_pid", '0'),
	'its backend is gone');
is(query($lock_sql), 'holder:true,bystander:false',
	'the holder keeps the lock, the other waiter still waits');

$holder->query_safe('COMMIT');
is(finish_client($bystander), 0, 'the other waiter succeeds once the holder commits');
is($bystander->{out}, '0', 'and finds nothing left to apply');
is( query($state_sql),
	"applied:r1,r2,r3\nhistory:r1=holder,r2=holder,r3=holder\nfailures:0\n"
	  . "tables:w_1,w_2,w_3\nlocks:0",
	'the holder\'s upgrade is committed once, and no lock is left');
$holder->quit;

# 2. The holder is terminated while a deployer waits.
setup_graph();
$holder = $node->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('SET client_min_messages = warning');
$holder->query_safe('SET application_name = holder');
$holder->query_safe('BEGIN');
is($holder->query_safe(q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}),
	'r1,r2,r3', 'the holder applies r1..r3 in an open transaction');
my $waiter = start_client($node, 'waiter', 'CALL migrate.deploy()');
ok( $node->poll_query_until('postgres', $lock_sql, 'holder:true,waiter:false'),
	'a deploy waits for the holder\'s lock');

my $holder_pid = pid_of('holder');
is(query("SELECT pg_terminate_backend($holder_pid)"), 't',
	'pg_terminate_backend() of the holder');
is(finish_client($waiter), 0, 'the waiting deploy then succeeds');
is( $waiter->{err},
	join('', map { qq{NOTICE:  deploy $_/3: revision "r$_"\n} } 1 .. 3),
	'it applies r1..r3 itself');
is( query($state_sql),
	"applied:r1,r2,r3\nhistory:r1=waiter,r2=waiter,r3=waiter\nfailures:0\n"
	  . "tables:w_1,w_2,w_3\nlocks:0",
	'nothing of the terminated holder remains, no lock is left');
$holder->quit;

# 3. A session of a role with no grant on migrate holds the key.
setup_graph();
query('CREATE ROLE alice LOGIN');
my $blocker = $node->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'alice' ]);
$blocker->query_safe('SET application_name = nightly_report');
$blocker->query_safe('BEGIN');
$blocker->query_safe('SELECT pg_advisory_xact_lock(7883946363647714561)');
my $blocker_pid = pid_of('nightly_report');

my ($rc, $out, $err) = $node->psql('postgres',
	q{SET migrate.lock_wait = off; SELECT count(*) FROM migrate.upgrade('head')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'a deploy with migrate.lock_wait = off is refused');
like(
	$err,
	qr/ERROR:  55P03: could not obtain the migrate deploy lock\nDETAIL:  The lock is held by the process with PID $blocker_pid \(role "alice", application_name "nightly_report"\)\./,
	'the 55P03 detail names the holder\'s pid, role and application_name');

# The query of README.md ("Any role that can connect can hold the deploy lock"),
# verbatim.
my $readme_holder_sql = q{
SELECT l.pid, a.usename, a.application_name, a.client_addr, a.state,
       a.xact_start, a.query
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid = (migrate.lock_key() >> 32)::oid
   AND l.objid = (migrate.lock_key() & 4294967295)::oid
   AND l.objsubid = 1};
is( query(qq{SELECT pid, usename, application_name, state,
		query LIKE 'SELECT pg_advisory_xact_lock(7883946363647714561)%'
		FROM ($readme_holder_sql) h}),
	"$blocker_pid|alice|nightly_report|idle in transaction|t",
	'the README\'s query finds the holder');
is(query('SELECT lock_holder_pid FROM migrate.status'), $blocker_pid,
	'migrate.status shows the same pid');
is(query("SELECT pg_terminate_backend($blocker_pid)"), 't',
	'pg_terminate_backend() of the holder');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $blocker_pid", '0'),
	'its backend is gone');
is( query(q{SET migrate.lock_wait = off; SET client_min_messages = warning;
		SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}),
	'r1,r2,r3', 'then the deploy goes through at once');
$blocker->quit;

$node->stop;
done_testing();
