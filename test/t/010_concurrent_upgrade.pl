# 32 clients run migrate.upgrade('head') at once on a 500-revision graph
# (SPEC section 4): every call succeeds and each revision is applied exactly
# once.  To make the calls really concurrent, a gate session holds the deploy
# lock (pg_advisory_xact_lock(migrate.lock_key()) is the same lock) until all
# 32 clients are queued behind it, then lets them go at once.
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
my $nclients = 32;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', qq{
max_connections = 50
log_statement = none
});
$node->start;

sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

query('CREATE EXTENSION migrate');
add_table_chain($node, $nrevs, 'c');
is(query('SELECT count(*) FROM migrate.revision'), $nrevs, "$nrevs revisions registered");
is(query('SELECT * FROM migrate.heads()'), 'r0500', 'as one linear chain');

# The gate holds the deploy lock while the clients connect and queue.
my $gate = $node->background_psql('postgres');
$gate->query_safe('BEGIN');
$gate->query_safe('SELECT pg_advisory_xact_lock(migrate.lock_key())');

my @clients = map {
	start_client($node, "deployer$_", 'SET client_min_messages = warning',
		q{SELECT count(*) FROM migrate.upgrade('head')})
} 1 .. $nclients;

ok($node->poll_query_until('postgres', $LOCK_WAITERS_SQL, $nclients),
	"all $nclients clients wait for the deploy lock");
is(query('SELECT count(*) FROM migrate.applied'), '0', 'nothing is applied while they wait');

my $started = time;
$gate->query_safe('COMMIT');

my @failed;
my @counts;
for my $c (@clients)
{
	my $rc = finish_client($c);
	push @failed, "$c->{name}: exit $rc: $c->{err}" if $rc != 0 || $c->{err} ne '';
	push @counts, $c->{out};
}
note sprintf('the %d upgrades took %d s', $nclients, time - $started);
is(join("\n", @failed), '', "all $nclients upgrades succeed, without errors");

# The first client to get the lock applies everything; the others wait for
# it and then find nothing to do.
is( join(',', sort { $b <=> $a } @counts),
	join(',', $nrevs, (0) x ($nclients - 1)),
	'one call applies all 500 revisions, the 31 others none');

is(query('SELECT count(*) FROM migrate.applied'), $nrevs, '500 applied rows');
is( query(q{
		SELECT count(*), count(DISTINCT revision), count(DISTINCT operation_id),
			   bool_and(success)
		  FROM migrate.history WHERE operation = 'upgrade'}),
	"$nrevs|$nrevs|1|t",
	'history: 500 successful upgrade rows, 500 distinct revisions, one call');
is(query('SELECT count(*) FROM migrate.history WHERE NOT success'), '0', 'no failure rows');
is( query(q{
		SELECT count(*) FROM pg_class
		 WHERE relname ~ '^c_[0-9]{4}$' AND relkind = 'r'
		   AND relnamespace = 'public'::regnamespace}),
	$nrevs,
	'the 500 tables exist');
is( query(q{
		SELECT count(*) FROM migrate.applied a JOIN migrate.revision r ON r.id = a.revision
		 WHERE a.checksum <> r.checksum}),
	'0',
	'every applied row carries its revision\'s checksum');
is(query('SELECT * FROM migrate.current()'), 'r0500', 'current() is the last revision');
is(query(q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'}),
	'0', 'no advisory lock is left');

# The same without a gate, on 100 more revisions: the calls race for the
# lock as they connect.
query(q{
	DO $$
	BEGIN
		FOR i IN 501..600 LOOP
			PERFORM migrate.add(format('r%s', lpad(i::text, 4, '0')),
				up => format('CREATE TABLE c_%s (id int)', lpad(i::text, 4, '0')),
				down => format('DROP TABLE c_%s', lpad(i::text, 4, '0')));
		END LOOP;
	END
	$$;
});
@clients = map {
	start_client($node, "racer$_", 'SET client_min_messages = warning',
		q{SELECT count(*) FROM migrate.upgrade('head')})
} 1 .. $nclients;
@failed = ();
@counts = ();
for my $c (@clients)
{
	my $rc = finish_client($c);
	push @failed, "$c->{name}: exit $rc: $c->{err}" if $rc != 0 || $c->{err} ne '';
	push @counts, $c->{out};
}
is(join("\n", @failed), '', "racing: all $nclients upgrades succeed");
is( join(',', sort { $b <=> $a } @counts),
	join(',', 100, (0) x ($nclients - 1)),
	'racing: one call applies the 100 new revisions, the others none');
is( query(q{
		SELECT count(*), count(DISTINCT revision) FROM migrate.history
		 WHERE operation = 'upgrade' AND success}),
	'600|600',
	'racing: each revision has exactly one upgrade row');
is(query(q{SELECT count(*) FROM pg_class WHERE relname ~ '^c_[0-9]{4}$' AND relkind = 'r'}),
	'600', 'racing: the 600 tables exist');

$gate->quit;
$node->stop;
done_testing();
