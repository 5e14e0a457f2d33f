# On a hot standby every state-changing call fails with 25006 (SPEC section
# 4), before taking the deploy lock: while another session of the standby
# holds that lock, the refused calls return at once instead of waiting for
# it.  Reads work on the standby, and it follows what the primary applies.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION migrate;
	SELECT migrate.add('r1', up => 'CREATE TABLE s_1 (id int)', down => 'DROP TABLE s_1');
	SELECT migrate.add('r2', up => 'CREATE TABLE s_2 (id int)', down => 'DROP TABLE s_2');
	SELECT migrate.add('r3', up => 'CREATE TABLE s_3 (id int)', down => 'DROP TABLE s_3');
	SET client_min_messages = warning;
	SELECT count(*) FROM migrate.upgrade('r1');
});

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# Another session of the standby holds the deploy lock and the step lock
# ("migrate\x02", README "Non-transactional revisions") (advisory locks work
# during recovery), so a call that tried to take either first would wait.
my $holder = $standby->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT pg_advisory_xact_lock(migrate.lock_key())');
$holder->query_safe('SELECT pg_advisory_xact_lock(7883946363647714562)');

# Runs a statement on the standby and returns its SQLSTATE and message (or
# "ok").  statement_timeout turns a wait into 57014 instead of a hang.
sub standby_error
{
	my ($sql) = @_;
	my ($rc, $stdout, $stderr) = $standby->psql('postgres',
		"SET statement_timeout = '10s';\n\\set VERBOSITY verbose\n$sql");
	return 'ok' if $rc == 0;
	return $stderr =~ /ERROR:  ([0-9A-Z]{5}): ([^\n]*)/ ? "$1 $2" : "unparsed: $stderr";
}

my @calls = (
	[ q{SELECT migrate.upgrade('head')},    'migrate.upgrade()' ],
	[ q{SELECT migrate.downgrade('base')},  'migrate.downgrade()' ],
	[ q{SELECT migrate.stamp('head')},      'migrate.stamp()' ],
	[ q{SELECT migrate.add('r4', 'CREATE TABLE s_4 (id int)')}, 'migrate.add()' ],
	[ q{SELECT migrate.remove('r3')},       'migrate.remove()' ],
	[ q{SELECT migrate.merge(ARRAY['r2', 'r3'])}, 'migrate.merge()' ],
	[ q{CALL migrate.deploy()},             'migrate.deploy()' ],
	[ q{CALL migrate.revert('base')},       'migrate.revert()' ],);
for my $call (@calls)
{
	my ($sql, $name) = @$call;
	my $started = time;
	is(standby_error($sql), "25006 cannot execute $name during recovery",
		"$sql is refused with 25006 on the standby");
	cmp_ok(time - $started, '<', 5, "$sql does not wait for the deploy lock");
}

# The same with the lock free.
$holder->query_safe('COMMIT');
is(standby_error(q{SELECT migrate.upgrade('head')}),
	'25006 cannot execute migrate.upgrade() during recovery',
	'upgrade is refused with the lock free too');
is(standby_error(q{CALL migrate.deploy()}),
	'25006 cannot execute migrate.deploy() during recovery',
	'deploy is refused with the lock free too');
is(standby_error(q{CALL migrate.revert('base')}),
	'25006 cannot execute migrate.revert() during recovery',
	'revert is refused with the lock free too');

# Nothing changed, and reads work.
is($standby->safe_psql('postgres', 'SELECT string_agg(revision, \',\') FROM migrate.applied'),
	'r1', 'the standby\'s applied set is unchanged');
is($standby->safe_psql('postgres', 'SELECT * FROM migrate.current()'), 'r1',
	'current() works on the standby');
is( $standby->safe_psql('postgres',
		q{SELECT string_agg(revision, ',' ORDER BY step) FROM migrate.plan('upgrade', 'head')}),
	'r2,r3',
	'plan() works on the standby');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM migrate.history WHERE operation <> \'add\''),
	'1', 'the primary\'s history has only its own upgrade');

# The primary upgrades; the standby follows.
$primary->safe_psql('postgres',
	q{SET client_min_messages = warning; SELECT count(*) FROM migrate.upgrade('head')});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT * FROM migrate.current()'), 'r3',
	'the standby sees the primary\'s upgrade');
is( $standby->safe_psql('postgres',
		q{SELECT count(*) FROM pg_class WHERE relname IN ('s_1', 's_2', 's_3')}),
	'3',
	'and its tables');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'}),
	'0', 'no advisory lock is held on the standby');

$holder->quit;
$standby->stop;
$primary->stop;
done_testing();
