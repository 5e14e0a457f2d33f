# pg_migrate on a fleet (issue 16; README "Fleets"): upgrade of 10
# databases, --jobs at a time, one of which fails (a table its migrations
# create is there already): exit status 1, a line per database naming the
# failing one, the 9 others upgraded; without --continue-on-error the
# failure stops starting new databases; --targets FILE; downgrade and stamp;
# bad --jobs values and commands that take one database.
use strict;
use warnings;

use File::Path qw(make_path);
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
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dir = "$tmp/migrations";
make_path($dir);

# Runs pg_migrate -D $dir ARGS; returns (exit status, stdout, stderr).
sub pgm
{
	return run_pg_migrate('-D', $dir, @_);
}

write_file("$dir/0001_t1.sql",
	"-- migrate:revision 0001_t1\n-- migrate:parents base\n-- migrate:up\nCREATE TABLE t1 (id int);\n-- migrate:down\nDROP TABLE t1;\n");
write_file("$dir/0002_t2.sql",
	"-- migrate:revision 0002_t2\n-- migrate:parents 0001_t1\n-- migrate:up\nCREATE TABLE t2 (id int);\n-- migrate:down\nDROP TABLE t2;\n");
write_file("$dir/0003_t2_idx.sql",
	"-- migrate:revision 0003_t2_idx\n-- migrate:parents 0002_t2\n-- migrate:up\nCREATE INDEX t2_idx ON t2 (id);\n-- migrate:down\nDROP INDEX t2_idx;\n");

# Creates databases PREFIX01..PREFIX10 with the extension; PREFIX05 holds a
# table t2 already, so that its upgrade fails at 0002_t2.
sub make_fleet
{
	my ($prefix) = @_;
	my @dbs = map { sprintf('%s%02d', $prefix, $_) } 1 .. 10;
	for my $db (@dbs)
	{
		$node->safe_psql('postgres', "CREATE DATABASE $db");
		$node->safe_psql($db, 'CREATE EXTENSION migrate');
	}
	$node->safe_psql("${prefix}05", 'CREATE TABLE t2 (x text)');
	return @dbs;
}

# The current heads of a database.
sub current
{
	my ($db) = @_;
	return $node->safe_psql($db, q{SELECT coalesce(string_agg(r, ' '), '') FROM migrate.current() r});
}

my $ok_re = qr/ok, 3 revisions applied in \d+\.\d s/;
my $fail_re = qr/FAILED: 42P07: relation "t2" already exists/;

# --- 10 databases, 3 at a time, --continue-on-error -------------------------
my @a = make_fleet('a');
my ($rc, $out, $err) = pgm('--jobs', '3', '--continue-on-error', map({ ('-d', $_) } @a), 'upgrade');
is($rc, 1, 'a fleet with a failing database: exit status 1');
my @lines = split /\n/, $out;
is(scalar @lines, 10, 'a line per database');
is_deeply([ sort map { s/:.*//r } @lines ], \@a, 'every database has its line');
for my $db (@a)
{
	my ($line) = grep { /^$db: / } @lines;
	if ($db eq 'a05')
	{
		like($line, qr/^a05: $fail_re\z/, 'the failing database\'s line names it and the error');
		is(current($db), '0001_t1', 'the failing database stopped before its failing revision');
		next;
	}
	like($line, qr/^$db: $ok_re\z/, "$db: ok line");
	is(current($db), '0003_t2_idx', "$db: upgraded to head");
}
like($err, qr/^a05: ERROR:  42P07: relation "t2" already exists$/m, 'the failure\'s messages on stderr, after the database');

# --- without --continue-on-error: no new database after the failure ------
my @b = make_fleet('b');
($rc, $out, $err) = pgm('-j', '1', map({ ('-d', $_) } @b), 'upgrade');
is($rc, 1, 'stopping at the first failure: exit status 1');
like($out,
	qr/\Ab01: $ok_re\nb02: $ok_re\nb03: $ok_re\nb04: $ok_re\nb05: $fail_re\n/,
	'the databases before the failure, then the failure');
like($out,
	qr/\nb06: not started \(an earlier database failed\)\n(?:b\d\d: not started \(an earlier database failed\)\n){4}\z/,
	'the others not started');
is(current('b06'), '', 'a database after the failure is untouched');
is($node->safe_psql('b06', 'SELECT count(*) FROM migrate.revisions()'), '0',
	'a database after the failure: not even registered');

# --- --targets FILE: connection strings, comments, blank lines ---------------
$node->safe_psql('a05', 'DROP TABLE t2');
my $targets = "$tmp/targets";
write_file($targets, "# the a fleet\n\n" . join('', map { '  ' . $node->connstr($_) . "\n" } @a[ 0 .. 4 ]) . "   \n# end\n");
($rc, $out, $err) = pgm('--targets', $targets, '-j', '2', 'upgrade');
is($rc, 0, '--targets: exit status 0') or diag($err);
my %line = map { /^(.*?): (.*)$/ ? ($1 => $2) : () } split /\n/, $out;
is(scalar keys %line, 5, '--targets: a line per connection string');
like($line{ $node->connstr('a05') }, qr/^ok, 2 revisions applied in \d+\.\d s$/, '--targets: the repaired database catches up');
like($line{ $node->connstr('a01') }, qr/^ok, 0 revisions applied in \d+\.\d s$/, '--targets: an upgraded one has nothing to do');
is(current('a05'), '0003_t2_idx', '--targets: the repaired database is at head');

# --- downgrade and stamp -----------------------------------------------------
($rc, $out, $err) = pgm('-d', 'a01', '-d', 'a02', 'downgrade', 'base');
is($rc, 0, 'downgrade of two databases: exit status 0') or diag($err);
like($out, qr/\Aa0[12]: ok, 3 revisions reverted in \d+\.\d s\na0[12]: ok, 3 revisions reverted in \d+\.\d s\n\z/,
	'downgrade: a line each');
is(current('a01') . current('a02'), '', 'downgrade: both at base');
($rc, $out, $err) = pgm('-d', 'a01', '-d', 'a02', 'stamp', 'head');
is($rc, 0, 'stamp of two databases: exit status 0') or diag($err);
like($out, qr/\Aa0[12]: ok, 3 revisions marked applied in \d+\.\d s\na0[12]: ok, 3 revisions marked applied in \d+\.\d s\n\z/,
	'stamp: a line each');

# --- bad arguments -----------------------------------------------------------
for my $jobs ('0', 'abc', '2x', '257', '')
{
	($rc, $out, $err) = pgm('--jobs', $jobs, '-d', 'a01', 'upgrade');
	is($rc, 1, "--jobs '$jobs': exit status 1");
	is($err, "pg_migrate: error: -j/--jobs must be in range 1..256\nTry \"pg_migrate --help\" for more information.\n",
		"--jobs '$jobs': message");
}
($rc, $out, $err) = pgm('-d', 'a01', '-d', 'a02', 'history');
is($rc, 1, 'several databases for history: exit status 1');
like($err, qr/^pg_migrate: error: several databases \(-d, --targets, --jobs\) are for upgrade, downgrade and stamp, not "history"$/m,
	'several databases for history: message');
write_file("$tmp/empty", "# nothing\n\n");
($rc, $out, $err) = pgm('--targets', "$tmp/empty", 'upgrade');
is($rc, 1, 'an empty targets file: exit status 1');
is($err, "pg_migrate: error: the targets file \"$tmp/empty\" names no database\n", 'an empty targets file: message');
($rc, $out, $err) = pgm('--targets', "$tmp/nosuch", 'upgrade');
is($rc, 1, 'a missing targets file: exit status 1');
like($err, qr/could not open file "\Q$tmp\E\/nosuch": No such file or directory/, 'a missing targets file: message');

$node->stop;
done_testing();
