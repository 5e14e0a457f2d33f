# Before a revision's CREATE INDEX CONCURRENTLY runs, deploy names in NOTICEs
# the transactions holding a snapshot, which the build will wait for
# (issue 17): here a REPEATABLE READ transaction of another session.  The
# deploy, bounded by statement_timeout, then fails as the build waits.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION migrate;
	CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10000) g;
	SELECT migrate.add('r1', 'CREATE INDEX CONCURRENTLY t_id ON t (id)', 'DROP INDEX CONCURRENTLY t_id');
});

my $long = $node->background_psql('postgres');
$long->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$long->query_safe('SELECT count(*) FROM t');
my $long_pid = $long->query_safe('SELECT pg_backend_pid()');
chomp $long_pid;

my ($rc, $stdout, $stderr) = $node->psql('postgres',
	"SET statement_timeout = '2s';\nCALL migrate.deploy()");
isnt($rc, 0, 'the deploy fails: the build waits for the transaction');
like($stderr,
	qr/NOTICE:  the index build of revision "r1" will wait for the transaction of process $long_pid, open for \d\d:\d\d:\d\d\nDETAIL:  Its query: SELECT pg_backend_pid\(\)/,
	'a NOTICE names the transaction, its age and its query');
like($stderr, qr/ERROR:  canceling statement due to statement timeout/, 'bounded by statement_timeout');
$long->query_safe('COMMIT');
$long->quit;

($rc, $stdout, $stderr) = $node->psql('postgres', 'CALL migrate.deploy()');
is($rc, 0, 'with the transaction gone, the deploy succeeds');
unlike($stderr, qr/will wait for the transaction/, 'and names no transaction');
done_testing();
