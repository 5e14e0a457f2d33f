# Progress in pg_stat_activity (SPEC section 4): while a deploy runs, the
# query column of its backend shows "migrate: upgrade 2/3 <id>" (or
# "migrate: deploy ..."), and once the call is over, successful or not, the
# column shows the statement the client sent again, not a stale progress
# line.
#
# Revision 2's SQL locks the table "gate"; the gate session holds "gate" to
# keep a deployer in revision 2 for as long as the test needs (no sleeps).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# state and query of the deployer's backend
my $deployer_sql =
  q{SELECT state || '|' || query FROM pg_stat_activity WHERE application_name = 'deployer'};

# Sends a statement to a background session without waiting for its result.
sub send_statement
{
	my ($session, $sql) = @_;
	$session->query_until(qr/sent\n/, "\\echo sent\n$sql\n");
}

# Waits until the statement sent last has finished (it echoes "done").
sub wait_done
{
	my ($session) = @_;
	return $session->query_until(qr/done\n/, "\\echo done\n");
}

query(q{
	CREATE TABLE gate (id int);
	CREATE EXTENSION migrate;
	SELECT migrate.add('p1', up => 'CREATE TABLE p_1 (id int)', down => 'DROP TABLE p_1');
	SELECT migrate.add('p2', up => 'LOCK TABLE gate IN SHARE MODE; CREATE TABLE p_2 (id int)',
					   down => 'DROP TABLE p_2', message => 'waits for the gate');
	SELECT migrate.add('p3', up => 'CREATE TABLE p_3 (id int)', down => 'DROP TABLE p_3');
});

my $gate = $node->background_psql('postgres');
my $deployer = $node->background_psql('postgres', on_error_stop => 0);
$deployer->query_safe('SET client_min_messages = warning');
$deployer->query_safe('SET application_name = deployer');

# 1. upgrade(), in its second revision
$gate->query_safe('BEGIN');
$gate->query_safe('LOCK TABLE gate');
my $statement = q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head');};
send_statement($deployer, $statement);
ok( $node->poll_query_until('postgres', $deployer_sql, 'active|migrate: upgrade 2/3 p2'),
	'while revision 2 of 3 runs, the deployer shows "migrate: upgrade 2/3 p2"');
is( query(q{
		SELECT wait_event_type FROM pg_stat_activity WHERE application_name = 'deployer'}),
	'Lock', 'it waits for the gate');
$gate->query_safe('COMMIT');
like(wait_done($deployer), qr/^p1,p2,p3\n/, 'the upgrade then applies p1..p3');
is(query($deployer_sql), "idle|$statement",
	'afterwards the deployer shows its statement again');

# 2. upgrade() failing in its second revision
query(q{
	SELECT migrate.add('p4', up => 'CREATE TABLE p_4 (id int)', down => 'DROP TABLE p_4');
	SELECT migrate.add('p5', up => 'SELECT 1/0', down => '', message => 'fails');
});
$statement = q{SELECT count(*) FROM migrate.upgrade('head');};
send_statement($deployer, $statement);
wait_done($deployer);
like($deployer->{stderr}, qr/ERROR:  division by zero/, 'an upgrade fails in revision 2 of 2');
$deployer->{stderr} = '';
is(query($deployer_sql), "idle|$statement",
	'afterwards the deployer shows its statement, not "migrate: upgrade 2/2 p5"');
query(q{SELECT migrate.add('p5', up => 'CREATE TABLE p_5 (id int)', down => 'DROP TABLE p_5')});

# 3. deploy(), in its second revision; the gate is held again
query(q{
	SELECT migrate.add('q1', up => 'CREATE TABLE q_1 (id int)', down => 'DROP TABLE q_1');
	SELECT migrate.add('q2', up => 'LOCK TABLE gate IN SHARE MODE; CREATE TABLE q_2 (id int)',
					   down => 'DROP TABLE q_2');
	SELECT migrate.add('q3', up => 'CREATE TABLE q_3 (id int)', down => 'DROP TABLE q_3');
});
$gate->query_safe('BEGIN');
$gate->query_safe('LOCK TABLE gate');
$statement = q{CALL migrate.deploy();};
send_statement($deployer, $statement);
# p4 and p5 come first: q2 is step 4 of 5
ok( $node->poll_query_until('postgres', $deployer_sql, 'active|migrate: deploy 4/5 q2'),
	'while revision 4 of 5 runs, the deployer shows "migrate: deploy 4/5 q2"');
$gate->query_safe('COMMIT');
wait_done($deployer);
is($deployer->{stderr}, '', 'the deploy succeeds');
is(query($deployer_sql), "idle|$statement",
	'afterwards the deployer shows its statement again');

# 4. deploy() failing between two revisions: after its second revision
# commits, the waiting "other" session gets the deploy lock and keeps it in
# an open transaction, so deploy's third transaction, with lock_wait = off,
# fails with 55P03.
query(q{
	SELECT migrate.add('x1', up => 'CREATE TABLE x_1 (id int)', down => 'DROP TABLE x_1');
	SELECT migrate.add('x2', up => 'LOCK TABLE gate IN SHARE MODE; CREATE TABLE x_2 (id int)',
					   down => 'DROP TABLE x_2');
	SELECT migrate.add('x3', up => 'CREATE TABLE x_3 (id int)', down => 'DROP TABLE x_3');
});
my $other = $node->background_psql('postgres');
$other->query_safe('SET client_min_messages = warning');
$other->query_safe('SET application_name = other');
$deployer->query_safe('SET migrate.lock_wait = off');
$gate->query_safe('BEGIN');
$gate->query_safe('LOCK TABLE gate');
send_statement($deployer, $statement);
ok( $node->poll_query_until('postgres', $deployer_sql, 'active|migrate: deploy 2/3 x2'),
	'the deployer shows "migrate: deploy 2/3 x2"');
$other->query_safe('BEGIN');
send_statement($other, q{SELECT count(*) FROM migrate.upgrade('x1');});
ok( $node->poll_query_until('postgres',
		q{SELECT wait_event_type || ':' || wait_event FROM pg_stat_activity
		   WHERE application_name = 'other'}, 'Lock:advisory'),
	'the other session waits for the deploy lock');
$gate->query_safe('COMMIT');
like(wait_done($other), qr/^0\n/, 'the other session gets the lock after x2 commits');
wait_done($deployer);
like($deployer->{stderr}, qr/ERROR:  could not obtain the migrate deploy lock/,
	'deploy\'s next transaction finds the lock taken and fails');
$deployer->{stderr} = '';
is( query(q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied
			 WHERE revision LIKE 'x%'}),
	'x1,x2', 'x1 and x2 are committed');
is(query($deployer_sql), "idle|$statement",
	'afterwards the deployer shows its statement, not "migrate: deploy 2/3 x2"');
$other->query_safe('COMMIT');

is(query(q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'migrate:%'}),
	'0', 'no backend shows migrate progress at the end');

$other->quit;
$gate->quit;
$deployer->quit;
$node->stop;
done_testing();
