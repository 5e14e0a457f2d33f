# CALL migrate.deploy() failing at revision k of n (SPEC sections 1 and 4):
# the revisions before k are committed, the failure is recorded in history
# (success = false, its SQLSTATE and message) and committed before the error
# reaches the client with the revision's own SQLSTATE, nothing of revision k
# remains, the revisions after it are not run, and no lock is left.  Seen
# from another session, for k = 1, 3 and 5 of 5.  Once the revision is fixed,
# the next deploy goes on from k.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $n = 5;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

sub query
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

my $state_sql = q{
	SELECT 'applied:' || coalesce(string_agg(revision, ',' ORDER BY revision), '')
	  FROM migrate.applied
	UNION ALL
	SELECT 'history:' || coalesce(string_agg(concat_ws('/', revision, success, sqlstate, error),
											  ',' ORDER BY id), '')
	  FROM migrate.history WHERE operation = 'upgrade'
	UNION ALL
	SELECT 'tables:' || coalesce(string_agg(relname, ',' ORDER BY relname), '')
	  FROM pg_class WHERE relname LIKE 'f\_%' AND relkind = 'r'
	   AND relnamespace = 'public'::regnamespace
	UNION ALL
	SELECT 'locks:' || count(*) FROM pg_locks WHERE locktype = 'advisory'
};

for my $k (1, 3, 5)
{
	query(q{
		SET client_min_messages = warning;
		DROP EXTENSION IF EXISTS migrate;
		DROP TABLE IF EXISTS f_1, f_2, f_3, f_4, f_5;
		CREATE EXTENSION migrate;
	});
	for my $i (1 .. $n)
	{
		# revision k creates its table, then divides by zero
		my $up = "CREATE TABLE f_$i (id int)";
		$up .= '; SELECT 1/0' if $i == $k;
		query(qq{SELECT migrate.add('r$i', up => '$up', down => 'DROP TABLE f_$i')});
	}

	my ($rc, $stdout, $stderr) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nCALL migrate.deploy()");
	isnt($rc, 0, "k=$k: deploy fails");
	my @notices = ($stderr =~ /NOTICE:  00000: (deploy \d+\/\d+: revision "r\d")/g);
	is( join(',', @notices),
		join(',', map { qq{deploy $_/$n: revision "r$_"} } 1 .. $k),
		"k=$k: it reports steps 1..$k of $n");
	like($stderr, qr/ERROR:  22012: division by zero/,
		"k=$k: the client gets the revision's own SQLSTATE");
	like($stderr, qr/migrate deploy of revision "r$k" \(step $k of $n\), line 1/,
		"k=$k: the error context names the revision");

	my $before = join(',', map { "r$_" } 1 .. $k - 1);
	my $history = join(',', (map { "r$_/t" } 1 .. $k - 1),
		"r$k/f/22012/division by zero");
	my $tables = join(',', map { "f_$_" } 1 .. $k - 1);
	is( query($state_sql),
		"applied:$before\nhistory:$history\ntables:$tables\nlocks:0",
		"k=$k: the revisions before r$k committed, its failure recorded, nothing of it "
		  . 'or after it applied, no lock left');
	is( query(q{
			SELECT count(DISTINCT operation_id), count(DISTINCT txid), count(*)
			  FROM migrate.history WHERE operation = 'upgrade'}),
		"1|$k|$k",
		"k=$k: one call, one transaction per row");
	is( query(q{
			SELECT h.checksum = r.checksum FROM migrate.history h
			  JOIN migrate.revision r ON r.id = h.revision
			 WHERE NOT h.success}),
		't',
		"k=$k: the failure row carries the failed revision's checksum");

	# fixed (r$k is not applied, so it may be replaced), deploy goes on
	query(qq{SELECT migrate.add('r$k', up => 'CREATE TABLE f_$k (id int)', down => 'DROP TABLE f_$k')});
	($rc, $stdout, $stderr) = $node->psql('postgres', 'CALL migrate.deploy()');
	is($rc, 0, "k=$k: after the fix, deploy succeeds");
	my $rest = $n - $k + 1;
	is( $stderr,
		join("\n",
			map { qq{psql:<stdin>:1: NOTICE:  deploy $_/$rest: revision "r} . ($k + $_ - 1) . '"' }
			  1 .. $rest),
		"k=$k: it applies r$k..r$n");
	is( query(q{
			SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied}),
		join(',', map { "r$_" } 1 .. $n),
		"k=$k: all $n are applied");
	is( query(q{
			SELECT count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success),
				   count(DISTINCT revision) FILTER (WHERE success)
			  FROM migrate.history WHERE operation = 'upgrade'}),
		"$n|1|$n",
		"k=$k: history has one success per revision and the one failure");
}

# A revision whose error shows only when its transaction commits (a deferred
# foreign key) fails like any other: its failure is recorded too.
query(q{
	SET client_min_messages = warning;
	DROP EXTENSION IF EXISTS migrate;
	DROP TABLE IF EXISTS f_1, f_2, f_3, f_4, f_5;
	CREATE EXTENSION migrate;
	SELECT migrate.add('r1', up => 'CREATE TABLE f_1 (id int PRIMARY KEY)', down => 'DROP TABLE f_1');
	SELECT migrate.add('r2',
		up => 'CREATE TABLE f_2 (id int REFERENCES f_1 DEFERRABLE INITIALLY DEFERRED);
			   INSERT INTO f_2 VALUES (1)',
		down => 'DROP TABLE f_2');
	SELECT migrate.add('r3', up => 'CREATE TABLE f_3 (id int)', down => 'DROP TABLE f_3');
});
my ($rc, $stdout, $stderr) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nCALL migrate.deploy()");
isnt($rc, 0, 'deferred: deploy fails');
like($stderr, qr/ERROR:  23503: insert or update on table "f_2" violates foreign key constraint/,
	'deferred: the client gets the revision\'s own SQLSTATE');
is( query($state_sql),
	"applied:r1\nhistory:r1/t,"
	  . 'r2/f/23503/insert or update on table "f_2" violates foreign key constraint "f_2_id_fkey"'
	  . "\ntables:f_1\nlocks:0",
	'deferred: r1 committed, the failure of r2 recorded, nothing of r2 or r3 applied');

$node->stop;
done_testing();
