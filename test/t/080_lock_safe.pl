# Lock-safe execution (issue 17): migrate.lock_timeout set for a revision's
# statements, migrate.lock_retries retries of a statement that timed out on a
# lock, after a backoff.  Another session holds a lock on a table for 3 s:
#  - deploy's ALTER TABLE retries and succeeds once the lock is gone, and the
#    history row counts the retries; meanwhile the application's own queries
#    on the table, timed in the server, are never blocked much longer than
#    the lock timeout;
#  - with too few retries the revision fails with 55P03, recorded;
#  - without retries, lock_timeout alone fails it at once;
#  - upgrade() retries the same way, in the caller's transaction.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
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

query(q{
	CREATE EXTENSION migrate;
	CREATE TABLE app (id int);
	INSERT INTO app SELECT generate_series(1, 1000);
	SELECT migrate.add('r1', 'ALTER TABLE app ADD COLUMN c1 int', 'ALTER TABLE app DROP COLUMN c1');
	SELECT migrate.add('r2', 'ALTER TABLE app ADD COLUMN c2 int', 'ALTER TABLE app DROP COLUMN c2');
	SELECT migrate.add('r3', 'ALTER TABLE app ADD COLUMN c3 int', 'ALTER TABLE app DROP COLUMN c3');
	SELECT migrate.add('r4', 'ALTER TABLE app ADD COLUMN c4 int', 'ALTER TABLE app DROP COLUMN c4');
});
# The application: reads the table every 50 ms for secs seconds, each read
# in a transaction of its own; the longest read (ms) and how many took over
# 20 ms.
query(q{
	CREATE PROCEDURE app_probe(secs float8, INOUT longest_ms float8 DEFAULT 0,
	                           INOUT waited int DEFAULT 0)
	LANGUAGE plpgsql AS $$
	DECLARE
		stop timestamptz := clock_timestamp() + secs * interval '1 second';
		t0 timestamptz;
		ms float8;
	BEGIN
		WHILE clock_timestamp() < stop LOOP
			t0 := clock_timestamp();
			PERFORM count(*) FROM app;
			ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
			longest_ms := round(greatest(longest_ms, ms)::numeric, 1);
			waited := waited + (ms > 20)::int;
			COMMIT;
			PERFORM pg_sleep(0.05);
		END LOOP;
	END $$;
});

# A session that reads the table and keeps its ACCESS SHARE lock for $secs.
sub hold_lock
{
	my ($name, $secs) = @_;
	my $c = start_client($node, $name,
		"BEGIN; SELECT count(*) FROM app; SELECT pg_sleep($secs); COMMIT;");
	$node->poll_query_until('postgres', qq{
		SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		 WHERE a.application_name = '$name' AND l.relation = 'app'::regclass AND l.granted})
	  or die "the lock holder did not start";
	return $c;
}

# 1. Retries outlast the holder.
my $holder = hold_lock('holder1', 3);
my $deploy = start_client($node, 'deployer1',
	"SET migrate.lock_timeout = '200ms'", "SET migrate.lock_retries = 40",
	"CALL migrate.deploy('r1')");
# the application's queries meanwhile, every 50 ms for 3 s, each in a
# transaction of its own, timed in the server: one queued behind the
# deploy's lock request waits until that request times out (200 ms)
my $probe = start_client($node, 'app1', "SET statement_timeout = '5s'", 'CALL app_probe(3)');
is(finish_client($deploy), 0, 'the deploy succeeds once the holder is gone');
finish_client($holder);
is(finish_client($probe), 0, 'every application query succeeded while the deploy retried');
my ($longest, $waited) = split /\|/, $probe->{out};
note("application queries: the longest took $longest ms, $waited waited over 20 ms");
cmp_ok($waited, '>=', 1, 'application queries were queued behind the lock request');
cmp_ok($longest, '<', 200 + 300,
	'no application query waited much longer than migrate.lock_timeout (200 ms)');
like($deploy->{err}, qr/NOTICE:  revision "r1", line 1: a lock was not granted within migrate\.lock_timeout; retry 1 of 40/,
	'each retry is a NOTICE');
my $retries = query(q{SELECT (detail ->> 'lock_retries')::int FROM migrate.history
	WHERE revision = 'r1' AND operation = 'upgrade' AND success});
cmp_ok($retries, '>=', 2, 'the history row counts the retries');
is(query(q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'app'::regclass AND attname = 'c1'}),
	'1', 'the column was added');

# 2. Too few retries: the revision fails with 55P03, recorded with the count.
$holder = hold_lock('holder2', 4);
my ($rc, $stdout, $stderr) = $node->psql('postgres',
	"SET migrate.lock_timeout = '100ms'; SET migrate.lock_retries = 2; CALL migrate.deploy('r2')");
isnt($rc, 0, 'the deploy fails when the retries run out');
like($stderr, qr/ERROR:  canceling statement due to lock timeout/, 'with the lock timeout error');
is(query(q{SELECT concat_ws('/', success, sqlstate, detail ->> 'lock_retries') FROM migrate.history
	WHERE revision = 'r2' AND operation = 'upgrade'}),
	'f/55P03/2', 'the failure is recorded with its two retries');
is(query(q{SELECT count(*) FROM migrate.applied WHERE revision = 'r2'}), '0', 'r2 is not applied');

# 3. No retries: lock_timeout alone fails it at once.
my $t0 = time;
($rc, $stdout, $stderr) = $node->psql('postgres',
	"SET migrate.lock_timeout = '100ms'; CALL migrate.deploy('r2')");
my $took = time - $t0;
isnt($rc, 0, 'without retries the deploy fails');
unlike($stderr, qr/retry/, 'with no retry');
cmp_ok($took, '<', 2, 'after about the lock timeout');
finish_client($holder);

# 4. upgrade() retries in the caller's transaction too.
$holder = hold_lock('holder3', 2);
($rc, $stdout, $stderr) = $node->psql('postgres',
	"SET migrate.lock_timeout = '200ms'; SET migrate.lock_retries = 40; SELECT revision FROM migrate.upgrade('r3')");
is($rc, 0, 'upgrade() succeeds after retries');
is($stdout, "r2\nr3", 'applying r2 and r3');
like($stderr, qr/retry 1 of 40/, 'it retried');
finish_client($holder);
is(query(q{SELECT count(*) FROM migrate.history WHERE operation = 'upgrade' AND success
	AND revision IN ('r2', 'r3') AND (detail ->> 'lock_retries')::int >= 1}),
	'1', 'r2, which met the lock, counts its retries');
is(query('SELECT count(*) FROM migrate.verify()'), '0', 'verify() is empty');
is(query(q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'}), '0', 'no lock left');

done_testing();
