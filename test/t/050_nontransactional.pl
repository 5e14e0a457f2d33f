# Non-transactional revisions run by CALL migrate.deploy() (README,
# "Non-transactional revisions"), against a live server:
#  1. 8 deploys and 4 upgrade() callers start while a deploy builds an index
#     concurrently on 1,000,000 rows: all finish, no deadlock, each revision
#     applied once, the index valid, no lock left; each upgrade() either
#     succeeds or is refused with 55P03 (step lock) or 25001.
#  2. A long transaction with an old snapshot delays a build: what
#     pg_stat_activity and migrate.status show, a cancel, statement_timeout
#     bounding a second attempt (57014, recorded), the invalid index dropped
#     and built again once the transaction ends.
#  3. A unique build on duplicate data fails with the worker's error and
#     context (23505), then passes once the data is fixed.
#  4. pg_terminate_backend() of a deploy waiting for the step lock, and of
#     the deploy whose worker builds.
#  5. CALL migrate.revert('base') drops the indexes concurrently.
#  6. Offline: psql -f of upgrade_sql() stops at a failing revision after a
#     non-transactional one; run again, it skips what is done.
# The builds are held at a chosen point by a "gate" session (a writer on the
# table, or a transaction with an old snapshot): what a concurrent index
# build waits for anyway, so no sleeps.
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
# autovacuum off: an autovacuum of the table would also make a build wait
$node->append_conf('postgresql.conf', qq{
max_connections = 40
autovacuum = off
log_statement = none
});
$node->start;
my $t0 = time;

sub query
{
	my ($sql, $db) = @_;
	return $node->safe_psql($db // 'postgres', $sql);
}

# A client that fails rather than hangs: past 60 s IPC::Run's timer fires.
sub client
{
	my ($name, @sql) = @_;
	local $PostgreSQL::Test::Utils::timeout_default = 60;
	return start_client($node, $name, '\set VERBOSITY verbose', @sql);
}

# Waits for a client; returns its exit status, or 'hung' when it timed out.
sub finish
{
	my ($c) = @_;
	my $rc = eval { finish_client($c) };
	return $rc if defined $rc;
	$c->{h}->kill_kill;
	return "hung ($@)";
}

# The pid of a client's backend (its worker has the same application_name).
sub pid_of
{
	my ($name) = @_;
	return query(qq{SELECT pid FROM pg_stat_activity
		WHERE application_name = '$name' AND backend_type = 'client backend'});
}

# The step lock ("migrate\x02"): classid and objid of its key.
my $step_lock = q{l.locktype = 'advisory' AND l.classid = 1835624306 AND l.objid = 1635017986
	AND l.objsubid = 1};
my $step_waiters_sql = qq{
	SELECT count(*) FROM pg_locks l WHERE $step_lock AND NOT l.granted AND l.mode = 'ShareLock'};
my $worker_sql = q{
	SELECT query || '|' || coalesce(wait_event_type, '') || '|' || coalesce(wait_event, '')
	  FROM pg_stat_activity WHERE backend_type = 'migrate worker'};
my $workers_sql = q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'migrate worker'};
my $locks_sql = q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'};

# The upgrade rows of a revision, oldest first: "r4:f:57014,r4:t:"
sub history_of
{
	my ($rev, $db) = @_;
	return query(qq{
		SELECT coalesce(string_agg(format('%s:%s:%s', revision, success, coalesce(sqlstate, '')),
								   ',' ORDER BY id), '')
		  FROM migrate.history WHERE operation = 'upgrade' AND revision = '$rev'}, $db);
}

# Valid (t/f) of an index, or "absent".
sub index_state
{
	my ($name, $db) = @_;
	my $v = query(qq{SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('$name')}, $db);
	return $v eq '' ? 'absent' : $v;
}

my $gate;

# The gate, a writer on big, holds the next build in its first phase: starts
# a deploy and waits until its worker runs $create, waiting for the gate.
# Returns the client and its backend's pid.
sub start_gated_deploy
{
	my ($name, $create) = @_;
	$gate->query_safe('BEGIN');
	$gate->query_safe('LOCK TABLE big IN ROW EXCLUSIVE MODE');
	my $c = client($name, 'SET client_min_messages = warning', 'CALL migrate.deploy()');
	ok($node->poll_query_until('postgres', $worker_sql, "$create|Lock|virtualxid"),
		"the worker of $name runs \"$create\", held by the gate");
	return ($c, pid_of($name));
}

# The deploy after a failed build of $index by $rev: it drops the invalid
# index and builds it again.  $history: the revision's upgrade rows after.
sub deploy_rebuilds
{
	my ($rev, $index, $history) = @_;
	deploy_dropping_invalid_index($node, $rev, $index);
	is(index_state($index), 't', "$index is valid");
	is(history_of($rev), $history, "$rev is recorded applied once");
	return;
}

query(q{
	CREATE TABLE big (id int, v int);
	INSERT INTO big SELECT g, g % 1000 FROM generate_series(1, 1000000) g;
	ANALYZE big;
	CREATE EXTENSION migrate;
	SELECT migrate.add('r1', up => 'CREATE TABLE t1 (id int)', down => 'DROP TABLE t1');
	SELECT migrate.add('r2', up => 'CREATE INDEX CONCURRENTLY big_v ON big (v)',
					   down => 'DROP INDEX CONCURRENTLY big_v', message => 'index');
	SELECT migrate.add('r3', up => 'CREATE TABLE t3 (id int)', down => 'DROP TABLE t3');
});
note sprintf('set-up: %.1f s', time - $t0);
is( query(q{SELECT string_agg(revision || ':' || is_transactional, ',' ORDER BY revision)
		FROM migrate.revisions()}),
	'r1:true,r2:false,r3:true', 'r2 is non-transactional, r1 and r3 are not');

############################################################################
# 1. 8 deploys and 4 upgrade() callers while a deploy builds the index.
my $started = time;
$gate = $node->background_psql('postgres');
my ($first, $first_pid) = start_gated_deploy('first', 'CREATE INDEX CONCURRENTLY big_v ON big (v)');
is( query(q{SELECT phase FROM pg_stat_progress_create_index p
		JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'migrate worker'}),
	'waiting for writers before build', 'in CREATE INDEX CONCURRENTLY\'s first phase');
is(query('SELECT step_holder_pid FROM migrate.status'), $first_pid,
	'the first deploy holds the step lock');
is(query('SELECT lock_holder_pid IS NULL FROM migrate.status'), 't',
	'and nobody the deploy lock');

my @deployers = map {
	client("deployer$_", 'SET client_min_messages = warning', 'CALL migrate.deploy()')
} 1 .. 8;
my @upgraders = map {
	client("upgrader$_", 'SET client_min_messages = warning',
		q{SELECT count(*) FROM migrate.upgrade('head')})
} 1 .. 4;
ok($node->poll_query_until('postgres', $step_waiters_sql, '8'),
	'the 8 deploys wait for the step lock');
is( query(q{SELECT count(*) FROM pg_stat_activity
		WHERE application_name LIKE 'deployer_' AND backend_xmin IS NOT NULL}),
	'0', 'without a snapshot');

# What an upgrade() caller may get: 0 or 1 revisions applied (r3), or a
# refusal by the step lock or by r2 in its plan.
my $refused_55P03 =
  qq{ERROR:  55P03: could not obtain the migrate deploy lock\n}
  . qq{DETAIL:  The process with PID $first_pid is running a non-transactional revision, }
  . qq{and a concurrent index build waits for every transaction that holds a snapshot, as this one does.\n}
  . qq{HINT:  Retry when it has finished, or use CALL migrate.deploy(), which waits for it without a snapshot.\n};
my $refused_25001 = qq{ERROR:  25001: revision "r2" cannot run inside a transaction\n};

# Waits for an upgrade() client and names its outcome: "ok N", the SQLSTATE
# of an expected refusal, or "unexpected: ..." with what it printed.
sub upgrade_outcome
{
	my ($c) = @_;
	my $rc = finish($c);
	return "ok $c->{out}" if $rc eq '0' && $c->{err} eq '' && $c->{out} =~ /^[01]$/;
	return '55P03' if $rc eq '1' && index($c->{err}, $refused_55P03) == 0;
	return '25001' if $rc eq '1' && index($c->{err}, $refused_25001) == 0;
	return "unexpected: exit $rc, out \"$c->{out}\", err \"$c->{err}\"";
}

# The step lock is held throughout: every upgrade() is refused at once.
my @outcomes = map { upgrade_outcome($_) } @upgraders;
is(join(',', @outcomes), '55P03,55P03,55P03,55P03',
	'the 4 upgrade() callers during the build are refused with 55P03 naming the deploy');
is(query($step_waiters_sql), '8', 'the 8 deploys still wait');
is(query($worker_sql), 'CREATE INDEX CONCURRENTLY big_v ON big (v)|Lock|virtualxid',
	'and the build still waits for the gate');

# The gate goes; 4 more upgrade() callers race with the rest of the build
# and the deploys that take turns after it.
$gate->query_safe('COMMIT');
my @late = map {
	client("late$_", 'SET client_min_messages = warning',
		q{SELECT count(*) FROM migrate.upgrade('head')})
} 1 .. 4;

my @bad;
for my $c ($first, @deployers)
{
	my $rc = finish($c);
	push @bad, "$c->{name}: exit $rc: $c->{err}" if $rc ne '0' || $c->{err} ne '';
}
is(join("\n", @bad), '', 'the first deploy and the 8 others finish and succeed, without a message');
my @late_outcomes = map { upgrade_outcome($_) } @late;
is( join(',', grep { !/^(ok [01]|55P03|25001)$/ } @late_outcomes),
	'', 'each late upgrade() succeeds or is refused with 55P03 or 25001');
note 'late upgrade() outcomes: ' . join(', ', @late_outcomes);
is( join('', map { $_->{err} } $first, @deployers, @upgraders, @late) =~ /40P01|deadlock/ ? 'yes' : 'no',
	'no', 'no client saw a deadlock');

is( query(q{
		SELECT string_agg(revision || ':' || n, ',' ORDER BY revision)
		  FROM (SELECT revision, count(*) n FROM migrate.history
				 WHERE operation = 'upgrade' AND success GROUP BY revision) s}),
	'r1:1,r2:1,r3:1', 'r1, r2 and r3 each have one successful upgrade row');
is(query('SELECT count(*) FROM migrate.history WHERE NOT success'), '0', 'and no failure row');
is(query(q{SELECT application_name FROM migrate.history WHERE revision = 'r2' AND operation = 'upgrade'}),
	'first', 'the first deploy applied r2');
is( query(q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied}),
	'r1,r2,r3', 'r1..r3 are applied');
is(index_state('big_v'), 't', 'big_v is valid');
is(query($locks_sql), '0', 'no advisory lock is left');
is(query($workers_sql), '0', 'no worker is left');
note sprintf('part 1: %.1f s', time - $started);

############################################################################
# 2. A long transaction with an old snapshot delays a build.
$started = time;
query(q{SELECT migrate.add('r4', up => 'CREATE INDEX CONCURRENTLY big_id ON big (id)',
		down => 'DROP INDEX CONCURRENTLY big_id')});
my $long = $node->background_psql('postgres');
$long->query_safe('SET application_name = long');
$long->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$long->query_safe('SELECT 1 FROM big LIMIT 1');
my $long_pid = pid_of('long');

my $slow = client('slow', 'SET client_min_messages = warning', 'CALL migrate.deploy()');
ok( $node->poll_query_until('postgres', $worker_sql,
		'CREATE INDEX CONCURRENTLY big_id ON big (id)|Lock|virtualxid'),
	'the worker shows its statement, waiting for a virtualxid');
my $slow_pid = pid_of('slow');
is( query(q{SELECT phase FROM pg_stat_progress_create_index p
		JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'migrate worker'}),
	'waiting for old snapshots', 'it has built the index and waits for old snapshots');
is( query(q{SELECT pg_blocking_pids(pid) FROM pg_stat_activity WHERE backend_type = 'migrate worker'}),
	"{$long_pid}", 'pg_blocking_pids() of the worker names the long transaction');
is(query(qq{SELECT query FROM pg_stat_activity WHERE pid = $slow_pid}),
	'migrate: deploy 1/1 r4, statement 1/1 (background worker)',
	'the deployer shows the revision and the statement the worker runs');
is(query('SELECT step_holder_pid FROM migrate.status'), $slow_pid,
	'migrate.status.step_holder_pid is the deployer');
is(query(qq{SELECT backend_xmin IS NULL FROM pg_stat_activity WHERE pid = $slow_pid}),
	't', 'the deployer holds no snapshot');

# A cancel of the deployer ends the build and is recorded.
is(query("SELECT pg_cancel_backend($slow_pid)"), 't', 'pg_cancel_backend() of the deployer');
is(finish($slow), 1, 'the cancelled deploy fails');
like($slow->{err}, qr/^ERROR:  57014: canceling statement due to user request\n/,
	'with 57014');
is(history_of('r4'), 'r4:f:57014', 'the cancel is recorded as a failure');
is(query($workers_sql), '0', 'no worker is left');
is(index_state('big_id'), 'f', 'big_id is left invalid');
is(query($locks_sql), '0', 'no advisory lock is left');

# A second attempt with statement_timeout: bounded.
my $before = time;
my $timed = client('timed', q{SET statement_timeout = '1s'}, 'CALL migrate.deploy()');
my $rc = finish($timed);
my $elapsed = time - $before;
is($rc, 1, 'with statement_timeout = 1s the deploy fails');
like( $timed->{err},
	qr/\nERROR:  57014: canceling statement due to statement timeout\n/,
	'with 57014');
like( $timed->{err},
	qr/^NOTICE:  00000: deploy 1\/1: revision "r4"\n.*\nNOTICE:  00000: dropping invalid index public\.big_id, left by an earlier attempt of revision "r4"\n/s,
	'while it dropped the invalid index left by the cancelled attempt');
cmp_ok($elapsed, '>=', 1, 'once the timeout had passed');
cmp_ok($elapsed, '<', 10, 'within a bounded time');
note sprintf('the timed-out deploy took %.1f s', $elapsed);
is(history_of('r4'), 'r4:f:57014,r4:f:57014', 'the timeout is recorded as a failure');
is( query(q{SELECT error FROM migrate.history WHERE revision = 'r4' ORDER BY id DESC LIMIT 1}),
	'canceling statement due to statement timeout', 'with its message');
is(query($workers_sql), '0', 'no worker is left');
is(index_state('big_id'), 'f', 'big_id is still invalid');
is(query('SELECT count(*) FROM migrate.applied WHERE revision = \'r4\''), '0', 'r4 is not applied');

# Once the long transaction ends, a deploy drops the invalid index and builds it.
$long->query_safe('COMMIT');
my ($stdout, $stderr);
($rc, $stdout, $stderr) = $node->psql('postgres', 'CALL migrate.deploy()');
is($rc, 0, 'after the long transaction, the deploy succeeds');
is( $stderr,
	qq{psql:<stdin>:1: NOTICE:  deploy 1/1: revision "r4"\n}
	  . qq{psql:<stdin>:1: NOTICE:  deploy 1/1: revision "r4", statement 1 of 1 (line 1) in a background worker\n}
	  . qq{psql:<stdin>:1: NOTICE:  dropping invalid index public.big_id, left by an earlier attempt of revision "r4"\n}
	  . qq{DETAIL:  The statement at line 1 builds it again.},
	'dropping the invalid index first');
is(index_state('big_id'), 't', 'big_id is valid');
is(history_of('r4'), 'r4:f:57014,r4:f:57014,r4:t:', 'r4 is recorded applied once');
is(query($locks_sql), '0', 'no advisory lock is left');
note sprintf('part 2: %.1f s', time - $started);

############################################################################
# 3. A unique build on duplicate data.
$started = time;
query(q{
	CREATE TABLE dup (k int);
	INSERT INTO dup SELECT g FROM generate_series(1, 1000) g;
	INSERT INTO dup VALUES (500);
	SELECT migrate.add('u1', up => 'CREATE UNIQUE INDEX CONCURRENTLY dup_k ON dup (k)',
					   down => 'DROP INDEX CONCURRENTLY dup_k');
});
my $unique = client('unique', 'CALL migrate.deploy()');
is(finish($unique), 1, 'a unique build on duplicate data fails');
like( $unique->{err},
	qr/\nERROR:  23505: could not create unique index "dup_k"\nDETAIL:  Key \(k\)=\(500\) is duplicated\.\n/,
	'with the worker\'s 23505 and detail');
like( $unique->{err},
	qr/\nCONTEXT:  background worker \(PID (\d+)\) running statement at line 1 of revision "u1"\nmigrate deploy of revision "u1" \(step 1 of 1\), line 1\n/,
	'and a context naming the worker, the statement\'s line and the revision');
my ($worker_pid) = $unique->{err} =~ /background worker \(PID (\d+)\)/;
my $leader_pid = query(q{SELECT backend_pid FROM migrate.history WHERE revision = 'u1' ORDER BY id DESC LIMIT 1});
isnt($worker_pid // '', $leader_pid, 'the PID in the context is the worker\'s, not the deployer\'s');
is(history_of('u1'), 'u1:f:23505', 'the failure is recorded');
is(index_state('dup_k'), 'f', 'dup_k is left invalid');

# once the data is fixed
query('DELETE FROM dup WHERE ctid = (SELECT max(ctid) FROM dup WHERE k = 500)');
deploy_rebuilds('u1', 'dup_k', 'u1:f:23505,u1:t:');
note sprintf('part 3: %.1f s', time - $started);

############################################################################
# 4. pg_terminate_backend() of a deploy waiting for the step lock.
$started = time;
query(q{SELECT migrate.add('r5', up => 'CREATE INDEX CONCURRENTLY big_vi ON big (v, id)',
		down => 'DROP INDEX CONCURRENTLY big_vi')});
my ($builder, $builder_pid) =
  start_gated_deploy('builder', 'CREATE INDEX CONCURRENTLY big_vi ON big (v, id)');
my $victim = client('victim', 'SET client_min_messages = warning', 'CALL migrate.deploy()');
ok( $node->poll_query_until('postgres', qq{
		SELECT string_agg(a.application_name || ':' || l.mode || ':' || l.granted, ','
						  ORDER BY l.granted DESC)
		  FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE $step_lock},
		'builder:ExclusiveLock:true,victim:ShareLock:false'),
	'a second deploy waits for the step lock (objid 1635017986) the first holds');
my $victim_pid = pid_of('victim');
is(query("SELECT pg_terminate_backend($victim_pid)"), 't', 'pg_terminate_backend() of the waiter');
isnt(finish($victim), 0, 'the terminated deploy fails');
like($victim->{err}, qr/FATAL:  57P01: terminating connection due to administrator command/,
	'its session was terminated');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE pid = $victim_pid", '0'),
	'its backend is gone');
is(query('SELECT step_holder_pid FROM migrate.status'), $builder_pid,
	'the first deploy still holds the step lock');
is(query($worker_sql), 'CREATE INDEX CONCURRENTLY big_vi ON big (v, id)|Lock|virtualxid',
	'and its build goes on');
$gate->query_safe('COMMIT');
is(finish($builder), 0, 'the first deploy then completes');
is($builder->{err}, '', 'without a message');
is(history_of('r5'), 'r5:t:', 'r5 is recorded applied once');
is(query(q{SELECT count(*) FROM migrate.history WHERE NOT success AND revision = 'r5'}), '0',
	'with no failure');
is(index_state('big_vi'), 't', 'big_vi is valid');
is(query($locks_sql), '0', 'no advisory lock is left');

# The builder itself is terminated: its worker goes with it.
query(q{SELECT migrate.add('r6', up => 'CREATE INDEX CONCURRENTLY big_iv ON big (id, v)',
		down => 'DROP INDEX CONCURRENTLY big_iv')});
($builder, $builder_pid) =
  start_gated_deploy('builder', 'CREATE INDEX CONCURRENTLY big_iv ON big (id, v)');
is(query("SELECT pg_terminate_backend($builder_pid)"), 't', 'pg_terminate_backend() of the builder');
isnt(finish($builder), 0, 'the terminated deploy fails');
like($builder->{err}, qr/FATAL:  57P01: terminating connection due to administrator command/,
	'its session was terminated');
ok($node->poll_query_until('postgres', $workers_sql, '0'), 'its worker is stopped');
$gate->query_safe('COMMIT');
is(history_of('r6'), '', 'nothing is recorded for r6');
is(index_state('big_iv'), 'f', 'big_iv is left invalid');
is(query($locks_sql), '0', 'no advisory lock is left');
deploy_rebuilds('r6', 'big_iv', 'r6:t:');
note sprintf('part 4: %.1f s', time - $started);

############################################################################
# 5. revert('base') drops the indexes concurrently.
$started = time;
($rc, $stdout, $stderr) = $node->psql('postgres', q{CALL migrate.revert('base')});
is($rc, 0, 'revert(\'base\') succeeds');
is( join("\n", $stderr =~ /NOTICE:  (.*)$/mg),
	join("\n",
		'revert 1/7: revision "r6"',
		'revert 1/7: revision "r6", statement 1 of 1 (line 1) in a background worker',
		'revert 2/7: revision "r5"',
		'revert 2/7: revision "r5", statement 1 of 1 (line 1) in a background worker',
		'revert 3/7: revision "u1"',
		'revert 3/7: revision "u1", statement 1 of 1 (line 1) in a background worker',
		'revert 4/7: revision "r4"',
		'revert 4/7: revision "r4", statement 1 of 1 (line 1) in a background worker',
		'revert 5/7: revision "r3"',
		'revert 6/7: revision "r2" - index',
		'revert 6/7: revision "r2", statement 1 of 1 (line 1) in a background worker',
		'revert 7/7: revision "r1"'),
	'each non-transactional revision\'s DROP INDEX CONCURRENTLY runs in a worker');
is(query('SELECT count(*) FROM migrate.applied'), '0', 'nothing is applied');
is( query(q{SELECT count(*) FROM pg_index WHERE indrelid IN ('big'::regclass, 'dup'::regclass)}),
	'0', 'the indexes are gone');
is( query(q{SELECT string_agg(revision, ',' ORDER BY id) FROM migrate.history
		WHERE operation = 'downgrade' AND success}),
	'r6,r5,u1,r4,r3,r2,r1', 'each revision is recorded unapplied once');
is(query('SELECT count(*) FROM migrate.verify()'), '0', 'verify() is empty');
is(query($locks_sql), '0', 'no advisory lock is left');
note sprintf('part 5: %.1f s', time - $started);

############################################################################
# 6. Offline: a script that stops at r3, run again.
$started = time;
query('CREATE DATABASE offline');
query(q{
	CREATE TABLE ob (id int, v int);
	INSERT INTO ob SELECT g, g % 100 FROM generate_series(1, 10000) g;
	CREATE EXTENSION migrate;
	SELECT migrate.add('r1', up => 'CREATE TABLE o1 (id int)', down => 'DROP TABLE o1');
	SELECT migrate.add('r2', up => 'CREATE INDEX CONCURRENTLY ob_v ON ob (v)',
					   down => 'DROP INDEX CONCURRENTLY ob_v');
	SELECT migrate.add('r3', up => 'INSERT INTO o3 VALUES (3)', down => 'DELETE FROM o3');
}, 'offline');
my $script = $node->basedir . '/upgrade.sql';
my $err = '';
IPC::Run::run([ 'psql', '-XAtq', '-d', $node->connstr('offline'), '-c',
		q{SELECT migrate.upgrade_sql('head')} ], '>', $script, '2>', \$err);
is($? >> 8, 0, 'upgrade_sql(\'head\') written to a file') or diag($err);

# Runs the script with psql -X -v ON_ERROR_STOP=1 -f; returns (exit status, stdout, stderr).
sub run_script
{
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('offline'), '-f', $script ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(60));
	return ($? >> 8, $out, $err);
}

($rc, $stdout, $stderr) = run_script();
is($rc, 3, 'the script stops at r3');
like($stderr, qr/ERROR:  relation "o3" does not exist/, 'whose table does not exist yet');
is(join(',', $stdout =~ /^(CREATE TABLE|CREATE INDEX)$/mg), 'CREATE TABLE,CREATE INDEX',
	'after running r1 and r2');
is( query(q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied}, 'offline'),
	'r1,r2', 'r1 and r2 are applied');
is( query(q{SELECT string_agg(revision, ',' ORDER BY id) FROM migrate.history
		WHERE operation = 'upgrade'}, 'offline'),
	'r1,r2', 'and recorded');
is(index_state('ob_v', 'offline'), 't', 'ob_v is valid');
is(query($locks_sql, 'offline'), '0', 'no advisory lock is left');

query('CREATE TABLE o3 (id int)', 'offline');
($rc, $stdout, $stderr) = run_script();
is($rc, 0, 'the same script, run again, succeeds') or diag($stderr);
is( join("\n", $stdout =~ /^(skipped: .*)$/mg),
	"skipped: revision r1 is applied\nskipped: revision r2 is applied",
	'skipping r1 and r2');
is(join(',', $stdout =~ /^(CREATE INDEX|INSERT 0 1)$/mg), 'INSERT 0 1',
	'it runs r3 alone');
is( query(q{SELECT string_agg(revision || ':' || success, ',' ORDER BY id) FROM migrate.history
		WHERE operation = 'upgrade'}, 'offline'),
	'r1:true,r2:true,r3:true', 'each revision is recorded applied once');
is(query('SELECT count(*) FROM o3', 'offline'), '1', 'r3 ran once');
is(query('SELECT count(*) FROM migrate.verify()', 'offline'), '0', 'verify() is empty');
is(query($locks_sql, 'offline'), '0', 'no advisory lock is left');
note sprintf('part 6: %.1f s', time - $started);

$gate->quit;
$long->quit;
note sprintf('total: %.1f s', time - $t0);
$node->stop;
done_testing();
