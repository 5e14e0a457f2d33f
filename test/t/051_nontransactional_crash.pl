# kill -9 in the middle of a concurrent index build run by CALL
# migrate.deploy() (README, "Non-transactional revisions": "kill -9 of
# either restarts the server, with the same outcome"):
#  1. of the deployer's backend,
#  2. of the background worker running the build.
# Either way the postmaster restarts the cluster; afterwards nothing is
# recorded applied for the revision, no advisory lock is held, the index is
# left invalid, and the next deploy drops it and completes.
#
# The build is held in its table scan by the index expression: slow()
# sleeps on one row when the setting migrate_test.sleep is on in the
# deployer's session, which the worker takes with the caller's settings.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib $FindBin::RealBin;
use MigrateTest;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
# Cluster.pm turns the crash restart off; this test needs it.
$node->append_conf('postgresql.conf', qq{
restart_after_crash = on
autovacuum = off
});
$node->start;
my $t0 = time;

sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# SIGKILLs a process and waits until the cluster has restarted.
sub kill_and_wait
{
	my ($pid, $what) = @_;
	my $offset = -s $node->logfile;
	is(kill('KILL', $pid), 1, "SIGKILL sent to the $what");
	$node->wait_for_log(qr/all server processes terminated; reinitializing/, $offset);
	$node->wait_for_log(qr/database system is ready to accept connections/, $offset);
	ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'the cluster is back');
	return;
}

my $worker_sql = q{
	SELECT a.query || '|' || a.wait_event || '|' || p.phase
	  FROM pg_stat_activity a JOIN pg_stat_progress_create_index p USING (pid)
	 WHERE a.backend_type = 'migrate worker'};

# What a revision left: its upgrade rows in history, applied or not, the
# index (valid or not), advisory locks, workers.
sub state_of
{
	my ($rev, $index) = @_;
	return query(qq{
		SELECT 'history:' || coalesce(string_agg(success::text, ',' ORDER BY id), '')
		  FROM migrate.history WHERE revision = '$rev' AND operation = 'upgrade'
		UNION ALL
		SELECT 'applied:' || count(*) FROM migrate.applied WHERE revision = '$rev'
		UNION ALL
		SELECT 'index:' || coalesce((SELECT indisvalid::text FROM pg_index
									  WHERE indexrelid = to_regclass('$index')), 'absent')
		UNION ALL
		SELECT 'locks:' || count(*) FROM pg_locks WHERE locktype = 'advisory'
		UNION ALL
		SELECT 'workers:' || count(*) FROM pg_stat_activity WHERE backend_type = 'migrate worker'});
}

query(q{
	CREATE TABLE crash_t (v int);
	INSERT INTO crash_t SELECT g FROM generate_series(0, 9999) g;
	CREATE FUNCTION slow(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
	BEGIN
		IF i = 0 AND current_setting('migrate_test.sleep', true) = 'on' THEN
			PERFORM pg_sleep(120);
		END IF;
		RETURN i;
	END $$;
	CREATE EXTENSION migrate;
	SELECT migrate.add('k0', up => 'CREATE TABLE k_0 (id int)', down => 'DROP TABLE k_0');
	SELECT migrate.add('k1', up => 'CREATE INDEX CONCURRENTLY crash_k1 ON crash_t (slow(v))',
					   down => 'DROP INDEX CONCURRENTLY crash_k1');
	SELECT migrate.add('k2', up => 'CREATE INDEX CONCURRENTLY crash_k2 ON crash_t (slow(v))',
					   down => 'DROP INDEX CONCURRENTLY crash_k2');
});

# Starts a deploy up to $rev whose build sleeps, and waits until its worker
# is in the table scan; returns the client and the worker's pid.
sub start_sleeping_deploy
{
	my ($rev, $index) = @_;
	my $deployer = start_client($node, 'deployer', 'SET client_min_messages = warning',
		q{SET migrate_test.sleep = 'on'}, "CALL migrate.deploy('$rev')");
	ok( $node->poll_query_until('postgres', $worker_sql,
			"CREATE INDEX CONCURRENTLY $index ON crash_t (slow(v))|PgSleep|building index: scanning table"),
		"the worker is in the middle of building $index");
	my $worker = query(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'migrate worker'});
	return ($deployer, $worker);
}

# The next deploy, without the sleep, drops the invalid index and builds it.
sub deploy_again
{
	my ($rev, $index, $history) = @_;
	deploy_dropping_invalid_index($node, $rev, $index);
	is(state_of($rev, $index), "history:$history\napplied:1\nindex:true\nlocks:0\nworkers:0",
		"$rev is recorded applied once, $index is valid, no lock is left");
	return;
}

# 1. kill -9 of the deployer's backend.
my $started = time;
my ($deployer, $worker) = start_sleeping_deploy('k1', 'crash_k1');
my $deployer_pid = query(q{SELECT pid FROM pg_stat_activity WHERE query LIKE 'migrate: deploy%'});
is( query(qq{SELECT query FROM pg_stat_activity WHERE pid = $deployer_pid}),
	'migrate: deploy 2/2 k1, statement 1/1 (background worker)',
	'the deployer runs k1 (after k0) in the worker');
is(query('SELECT step_holder_pid FROM migrate.status'), $deployer_pid,
	'and holds the step lock');
kill_and_wait($deployer_pid, 'deployer\'s backend');
isnt(finish_client($deployer), 0, 'the killed deployer\'s psql fails');
like($deployer->{err}, qr/server closed the connection unexpectedly/, 'it lost its connection');
is(state_of('k1', 'crash_k1'), "history:\napplied:0\nindex:false\nlocks:0\nworkers:0",
	'k1 is not recorded, crash_k1 is invalid, no lock or worker is left');
is(query(q{SELECT string_agg(revision, ',') FROM migrate.applied}), 'k0',
	'k0, committed before, stays applied');
deploy_again('k1', 'crash_k1', 'true');
note sprintf('part 1: %.1f s', time - $started);

# 2. kill -9 of the worker.
$started = time;
($deployer, $worker) = start_sleeping_deploy('k2', 'crash_k2');
kill_and_wait($worker, 'worker');
isnt(finish_client($deployer), 0, 'the deployer\'s psql fails');
like($deployer->{err}, qr/server closed the connection unexpectedly/,
	'its backend was ended by the restart');
is(state_of('k2', 'crash_k2'), "history:\napplied:0\nindex:false\nlocks:0\nworkers:0",
	'k2 is not recorded, crash_k2 is invalid, no lock or worker is left');
deploy_again('k2', 'crash_k2', 'true');
is(query('SELECT count(*) FROM migrate.verify()'), '0', 'verify() is empty');
note sprintf('part 2: %.1f s', time - $started);

note sprintf('total: %.1f s', time - $t0);
$node->stop;
done_testing();
