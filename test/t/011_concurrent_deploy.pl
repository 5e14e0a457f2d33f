# 8 clients run CALL migrate.deploy() at once on a 500-revision graph (SPEC
# section 4).  deploy commits after each revision and takes the deploy lock
# again in each transaction, re-reading the state, so the clients take turns
# revision by revision: every call succeeds, each revision is applied exactly
# once, and every client applies some.  A gate session holds the deploy lock
# until all 8 are queued, then lets them go at once.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MigrateTest;

my $nrevs = 500;
my $nclients = 8;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 30
log_statement = none
});
$node->start;

sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

query('CREATE EXTENSION migrate');
add_table_chain($node, $nrevs, 'd');
is(query('SELECT count(*) FROM migrate.revision'), $nrevs, "$nrevs revisions registered");

my $gate = $node->background_psql('postgres');
$gate->query_safe('BEGIN');
$gate->query_safe('SELECT pg_advisory_xact_lock(migrate.lock_key())');

# NOTICEs stay on: each applied revision sends one, to its own client.
my @clients =
  map { start_client($node, "deployer$_", 'CALL migrate.deploy()') } 1 .. $nclients;

ok($node->poll_query_until('postgres', $LOCK_WAITERS_SQL, $nclients),
	"all $nclients clients wait for the deploy lock");

my $started = time;
$gate->query_safe('COMMIT');

my @failed;
my $notices = 0;
my $nothing = 0;
for my $c (@clients)
{
	my $rc = finish_client($c);
	my @lines = split /\n/, $c->{err};
	my @other = grep { !/^NOTICE:  deploy \d+\/\d+: revision "r\d{4}"$/ } @lines;
	$notices += @lines - @other;
	# a client that applied nothing would say so
	$nothing++ if grep { /^NOTICE:  nothing to deploy$/ } @lines;
	@other = grep { !/^(NOTICE:  nothing to deploy|DETAIL:  Every revision .*)$/ } @other;
	push @failed, "$c->{name}: exit $rc: @other" if $rc != 0 || @other;
}
note sprintf('the %d deploys took %d s', $nclients, time - $started);
is(join("\n", @failed), '', "all $nclients deploys succeed, without errors");
is($notices, $nrevs, 'together they send one step NOTICE per revision');
is($nothing, 0, 'no client finds nothing to do');

is(query('SELECT count(*) FROM migrate.applied'), $nrevs, '500 applied rows');
is( query(q{
		SELECT count(*), count(DISTINCT revision), count(DISTINCT txid), bool_and(success)
		  FROM migrate.history WHERE operation = 'upgrade'}),
	"$nrevs|$nrevs|$nrevs|t",
	'history: 500 successful upgrade rows, 500 distinct revisions, one transaction each');
is(query('SELECT count(*) FROM migrate.history WHERE NOT success'), '0', 'no failure rows');
is( query(q{
		SELECT count(DISTINCT operation_id), count(DISTINCT backend_pid),
			   count(DISTINCT application_name)
		  FROM migrate.history WHERE operation = 'upgrade'}),
	"$nclients|$nclients|$nclients",
	'each of the 8 calls applied some of the revisions');
is( query(q{
		SELECT count(*) FROM pg_class
		 WHERE relname ~ '^d_[0-9]{4}$' AND relkind = 'r'
		   AND relnamespace = 'public'::regnamespace}),
	$nrevs,
	'the 500 tables exist');

# Parents before children, whoever applied them: each revision's upgrade row
# comes after its parent's.
is( query(q{
		SELECT count(*)
		  FROM migrate.revision r
		  JOIN migrate.history c ON c.revision = r.id AND c.operation = 'upgrade'
		  JOIN migrate.history p ON p.revision = r.parents[1] AND p.operation = 'upgrade'
		 WHERE c.id < p.id}),
	'0',
	'every revision was applied after its parent');
is(query('SELECT * FROM migrate.current()'), 'r0500', 'current() is the last revision');
is(query(q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'}),
	'0', 'no advisory lock is left');

$gate->quit;
$node->stop;
done_testing();
