# pg_migrate, the command-line client (issue 16, first cut): options, exit
# status, new, registration of a directory, and the output of every command.
use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use MigrateTest;

program_help_ok('pg_migrate');
program_version_ok('pg_migrate');
program_options_handling_ok('pg_migrate');

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;
$ENV{PGDATABASE} = 'app';
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('postgres', 'CREATE DATABASE noext');
$node->safe_psql('app', 'CREATE EXTENSION migrate');

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dir = "$tmp/migrations";

# Runs pg_migrate -D $dir ARGS; returns (exit status, stdout, stderr).
sub pgm
{
	return run_pg_migrate('-D', $dir, @_);
}

# Checks that pg_migrate ARGS exits 0 with exactly that stdout.
sub pgm_is
{
	my ($args, $expected, $name) = @_;
	my ($rc, $out, $err) = pgm(@$args);
	is($rc, 0, "$name: exit status 0") or diag($err);
	is($out, $expected, "$name: output");
}

# Checks that pg_migrate ARGS exits 1 with stderr matching a pattern.
sub pgm_fails
{
	my ($args, $pattern, $name) = @_;
	my ($rc, $out, $err) = pgm(@$args);
	is($rc, 1, "$name: exit status 1");
	like($err, $pattern, "$name: message");
}

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "$path: $!";
	local $/;
	return <$fh>;
}

# --- bad arguments, no server, no extension --------------------------------
pgm_fails([], qr/^pg_migrate: error: no command given\nTry "pg_migrate --help"/, 'no command');
pgm_fails(['frobnicate'], qr/unknown command "frobnicate"/, 'unknown command');
pgm_fails(['downgrade'], qr/command "downgrade" needs a target revision/, 'downgrade without target');
pgm_fails(['current', 'extra'], qr/too many arguments for command "current"/, 'extra argument');
pgm_fails(['new'], qr/command "new" needs a message/, 'new without message');
pgm_fails(['-h', "$tmp/nosocket", 'current'],
	qr/^pg_migrate: error: connection to server on socket "\Q$tmp\E\/nosocket\/.s.PGSQL.\d+" failed/,
	'no server');
pgm_fails(['current'], qr/could not open directory "\Q$dir\E": No such file or directory/,
	'-D DIR missing');
# no -D and no ./migrations: nothing to register, no error
{
	my ($out, $err);
	IPC::Run::run([ 'pg_migrate', 'current' ], '<', \undef, '>', \$out, '2>', \$err,
		init => sub { chdir($tmp) or die "chdir: $!" });
	is($? >> 8, 0, 'no -D and no ./migrations: exit status 0') or diag($err);
}
make_path($dir);
pgm_fails(['-d', 'noext', 'current'],
	qr/extension "migrate" is not installed in database "noext"/, 'no extension');

# --- new --------------------------------------------------------------------
my ($rc, $out, $err) = pgm('new', 'Create users table!');
is($rc, 0, 'new: exit status 0');
like($out, qr{^\Q$dir\E/(\d{14}_create_users_table)\.sql\n\z}, 'new: prints the path');
my ($first_id) = $out =~ m{/(\d{14}_create_users_table)\.sql};
is( slurp("$dir/$first_id.sql"),
	"-- migrate:revision $first_id\n-- migrate:parents base\n"
	  . "-- migrate:message Create users table!\n-- migrate:up\n\n-- migrate:down\n\n",
	'new: the first file has parents base');
# the next file sorts after it even within the same second: files register
# in byte order of their names, parents first
($rc, $out, $err) = pgm('new', 'a');
my ($second_id) = $out =~ m{/(\d{14}_a)\.sql\n\z};
ok(defined $second_id && $second_id gt $first_id, 'new: a later file sorts after the earlier one');
like(slurp("$dir/$second_id.sql"), qr/^-- migrate:parents \Q$first_id\E$/m, 'new: its parent');
unlink("$dir/$second_id.sql");
unlink("$dir/$first_id.sql");

# the project: two files written as a team would
write_file("$dir/0001_users.sql", <<'SQL');
-- migrate:revision 0001_users
-- migrate:parents base
-- migrate:message create users
-- migrate:up
CREATE TABLE users (id int PRIMARY KEY);
-- migrate:down
DROP TABLE users;
SQL
write_file("$dir/0002_email.sql", <<'SQL');
-- migrate:revision 0002_email
-- migrate:parents 0001_users
-- migrate:branch_labels core
-- migrate:message add email to users
-- migrate:up
ALTER TABLE users ADD email text;
-- migrate:down
ALTER TABLE users DROP email;
SQL

($rc, $out, $err) = pgm('new', 'add names', '--branch-label', 'names', '--depends-on', '0001_users');
is($rc, 0, 'new with options: exit status 0');
my ($new_id) = $out =~ m{/(\d{14}_add_names)\.sql\n\z};
ok(defined $new_id, 'new with options: prints the path');
is( slurp("$dir/$new_id.sql"),
	"-- migrate:revision $new_id\n-- migrate:parents 0002_email\n"
	  . "-- migrate:depends_on 0001_users\n-- migrate:branch_labels names\n"
	  . "-- migrate:message add names\n-- migrate:up\n\n-- migrate:down\n\n",
	'new: parents is the single head of the files');
unlink("$dir/$new_id.sql");

# two heads: refused, naming them; --head chooses
write_file("$dir/0003_side.sql",
	"-- migrate:revision 0003_side\n-- migrate:parents 0001_users\n-- migrate:up\nSELECT 1;\n");
pgm_fails(['new', 'x'], qr/have 2 heads: 0002_email 0003_side\nHINT:  Pass --head/, 'new with two heads');
# merge: a file joining the heads
($rc, $out, $err) = pgm('merge', '-m', 'join side');
is($rc, 0, 'merge: exit status 0');
my ($merge_id) = $out =~ m{^\Q$dir\E/(\d{14}_join_side)\.sql\n\z};
ok(defined $merge_id, 'merge: prints the path');
is( slurp("$dir/$merge_id.sql"),
	"-- migrate:revision $merge_id\n-- migrate:parents 0002_email 0003_side\n"
	  . "-- migrate:message join side\n-- migrate:up\n\n-- migrate:down\n\n",
	'merge: the file names both heads as parents');
unlink("$dir/$merge_id.sql");
($rc, $out, $err) = pgm('new', 'x', '--head', 'core');
is($rc, 0, 'new --head: exit status 0');
like(slurp($out =~ s/\n\z//r), qr/^-- migrate:parents 0002_email$/m, 'new --head LABEL: parents');
unlink($out =~ s/\n\z//r, "$dir/0003_side.sql");
pgm_fails(['merge'], qr/nothing to merge: the files of "\Q$dir\E" have a single head \(0002_email\)/,
	'merge with a single head');

# --- upgrade and the listings -----------------------------------------------
pgm_is(['upgrade'], '', 'upgrade: nothing extra when not a terminal');
pgm_is(['current'], "0002_email (core) (head)\n", 'current');
# a connection string and a URI in -d, over the PG* variables
pgm_is(['-d', $node->connstr('app'), 'current'], "0002_email (core) (head)\n", '-d connection string');
pgm_is(['-d', 'postgresql:///app?host=' . $node->host . '&port=' . $node->port, 'current'],
	"0002_email (core) (head)\n", '-d URI');
pgm_is(['heads'], "0002_email (core) (head)\n", 'heads');
pgm_is(['history'],
	"0001_users -> 0002_email (core) (head) (current), add email to users\n"
	  . "<base> -> 0001_users, create users\n",
	'history');
pgm_is(['history', '-r', '0002_email:'],
	"0001_users -> 0002_email (core) (head) (current), add email to users\n",
	'history -r');
pgm_is(['history', '--verbose', '-r', ':0001_users'],
	"Rev: 0001_users\nParent: <base>\nApplied: yes\n\n    create users\n\n",
	'history --verbose');
($rc, $out, $err) = pgm('show', 'core');
is($rc, 0, 'show: exit status 0');
my $show_re = qr/\ARev: 0002_email\nParent: 0001_users\nBranch names: core\nChildren: -\n/
	  . qr/Applied: yes\nTransactional: yes\nChecksum: [0-9a-f]{64}\nCreated: .* by \w+\n\n/
	  . qr/    add email to users\n\n-- migrate:up\nALTER TABLE users ADD email text;\n/
	  . qr/-- migrate:down\nALTER TABLE users DROP email;\n\z/;
like($out, qr/$show_re/, 'show: output');
pgm_is(['check'], "up to date\n", 'check');
pgm_is(['verify'], "no problems found\n", 'verify');
($rc, $out, $err) = pgm('status');
like($out, qr/\Acurrent heads: +0002_email\ngraph heads: +0002_email\npending: +0\nup to date: +yes\n/,
	'status');

# --json: one document that parses
for my $cmd (qw(current heads history status verify))
{
	($rc, $out, $err) = pgm('--json', $cmd);
	my $doc = eval { decode_json($out) };
	ok(defined $doc, "--json $cmd parses") or diag($out);
}
($rc, $out, $err) = pgm('--json', 'history');
is_deeply([ map { $_->{revision} } @{ decode_json($out) } ], [ '0002_email', '0001_users' ],
	'--json history: newest first');
($rc, $out, $err) = pgm('--json', 'show', '0002');
is(decode_json($out)->{up_sql}, 'ALTER TABLE users ADD email text;', '--json show');
($rc, $out, $err) = pgm('--json', 'status');
is(decode_json($out)->{up_to_date}, JSON::PP::true, '--json status');

# --- downgrade, progress, stamp ---------------------------------------------
pgm_is(['downgrade', '-1'], '', 'downgrade -1');
pgm_is(['current'], "0001_users\n", 'current after downgrade');
pgm_fails(['check'], qr/^ERROR:  55000: the database is not up to date/m, 'check when behind');
($rc, $out, $err) = pgm('--progress', 'upgrade');
like($out, qr/\A\[1\/1\] 0002_email  \d+\.\d s\n\z/, 'upgrade --progress: a line per step');
($rc, $out, $err) = pgm('--progress', '--one-transaction', 'downgrade', 'base');
like($out, qr/\A\[1\/2\] 0002_email  \d+\.\d s\n\[2\/2\] 0001_users  \d+\.\d s\n\z/,
	'downgrade --one-transaction --progress');
pgm_is(['--one-transaction', 'upgrade', '0001_users'], '', 'upgrade --one-transaction');
pgm_is(['stamp', 'head'], '', 'stamp');
pgm_is(['current'], "0002_email (core) (head)\n", 'current after stamp');
is($node->safe_psql('app', q{SELECT count(*) FROM information_schema.columns WHERE column_name = 'email'}),
	'0', 'stamp ran no SQL');
pgm_fails(['upgrade', 'nosuch'], qr/^ERROR:  [0-9A-Z]{5}: .*nosuch/m, 'an SQL error');

# --- an edited applied file -------------------------------------------------
my $orig = slurp("$dir/0002_email.sql");
write_file("$dir/0002_email.sql", $orig =~ s/ADD email text/ADD email varchar/r);
pgm_fails(['current'],
	qr/could not register file "\Q$dir\E\/0002_email.sql"\nERROR:  42710: revision "0002_email" is applied and cannot be replaced\n.*HINT:  Add a new revision/s,
	'an edited applied file');
write_file("$dir/0002_email.sql", $orig);

# --- sql upgrade: a script for an empty database ---------------------------
($rc, $out, $err) = pgm('sql', 'upgrade');
is($rc, 0, 'sql upgrade: exit status 0');
$node->safe_psql('postgres', 'CREATE DATABASE offline');
my ($prc, $pout, $perr) = $node->psql('offline', $out, on_error_stop => 1);
is($prc, 0, 'sql upgrade: the script runs on an empty database') or diag($perr);
is($node->safe_psql('offline', 'SELECT * FROM migrate.current()'), '0002_email',
	'sql upgrade: the empty database is at head');
pgm_fails(['sql', 'sideways', 'x'], qr/unknown operation "sideways"/, 'sql with a bad operation');

# --- log: the calls of migrate, newest first --------------------------------
($rc, $out, $err) = pgm('log', '-n', '2');
is($rc, 0, 'log -n 2: exit status 0') or diag($err);
my $when = qr/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+/;
my $log_re = qr/\A$when  \w+  stamp    0002_email  +\d+\.\d{3} s  ok\n/
  . qr/$when  \w+  upgrade  0001_users  +\d+\.\d{3} s  ok\n\z/;
like($out, qr/$log_re/,
	'log -n 2: the stamp, then the upgrade before it');
($rc, $out, $err) = pgm('--json', 'log');
my $log = decode_json($out);
is_deeply([ @{ $log->[0] }{qw(operation target revisions success)} ],
	[ 'stamp', 'head', ['0002_email'], JSON::PP::true ], '--json log: the newest call first');
is(scalar(@$log), $node->safe_psql('app', 'SELECT count(DISTINCT operation_id) FROM migrate.history'),
	'--json log: every call');
pgm_fails(['log', '-n', 'x'], qr/invalid value "x" for option -n\/--max-count/, 'log -n x');
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION migrate VERSION '1.0'");
pgm_fails([ '-D', $tmp, '-d', 'old', 'log' ],
	qr/the view migrate.log does not exist: the extension in database "old" is older than 1.1\nHINT:  Run ALTER EXTENSION migrate UPDATE/,
	'log on a 1.0 database');
# a deploy that fails: FAILED and the error; three revisions and more
write_file("$dir/0003_a.sql",
	"-- migrate:revision 0003_a\n-- migrate:parents 0002_email\n-- migrate:up\nSELECT 1;\n");
write_file("$dir/0004_b.sql",
	"-- migrate:revision 0004_b\n-- migrate:parents 0003_a\n-- migrate:up\nSELECT 1;\n");
write_file("$dir/0005_c.sql",
	"-- migrate:revision 0005_c\n-- migrate:parents 0004_b\n-- migrate:up\nSELECT 1;\n");
write_file("$dir/0006_fails.sql",
	"-- migrate:revision 0006_fails\n-- migrate:parents 0005_c\n-- migrate:up\nSELECT 1/0;\n");
pgm_fails(['upgrade'], qr/division by zero/, 'upgrade that fails');
($rc, $out, $err) = pgm('log', '-n', '5');
$log_re = qr/\A$when  \w+  upgrade  0003_a, 0004_b, 0005_c and 1 more  +\d+\.\d{3} s  /
  . qr/FAILED 22012: division by zero\n$when  \w+  add      0006_fails  +\d+\.\d{3} s  ok\n/;
like($out, qr/$log_re/,
	'log: a failed deploy, its revisions abbreviated');
unlink("$dir/0006_fails.sql");

# --- graph: text as git log --graph, dot, mermaid ---------------------------
my $empty = "$tmp/empty";
make_path($empty);
my %graphs = (
	chain => q{SELECT migrate.add('a', '', '');
		SELECT migrate.add('b', '', '', message => 'bee');
		SELECT migrate.add('c', '', '', branch_labels => '{core}')},
	fork => q{SELECT migrate.add('a', '', '', message => 'root');
		SELECT migrate.add('b', '', '', parents => '{a}');
		SELECT migrate.add('c', '', '', parents => '{a}');
		SELECT migrate.add('b2', '', '', parents => '{b}');
		SELECT migrate.merge(id => 'm', message => 'join');
		SELECT migrate.add('n', '', '')},
	roots => q{SELECT migrate.add('a', '', '', message => 'root a');
		SELECT migrate.add('b', '', '', parents => '{}', message => 'root b');
		SELECT migrate.merge(id => 'm')},
	dep => q{SELECT migrate.add('a', '', '');
		SELECT migrate.add('b', '', '', parents => '{a}');
		SELECT migrate.add('x', '', '', parents => '{b}', depends_on => '{a}');
		SELECT migrate.add('c', '', '', parents => '{a}');
		SELECT migrate.add('d', '', '', parents => '{a}')});
for my $g (sort keys %graphs)
{
	$node->safe_psql('postgres', "CREATE DATABASE g_$g");
	$node->safe_psql("g_$g", "CREATE EXTENSION migrate; $graphs{$g}");
}
# Checks pg_migrate graph ARGS on database g_NAME.
sub graph_is
{
	my ($g, $args, $expected, $name) = @_;
	pgm_is([ '-D', $empty, '-d', "g_$g", 'graph', @$args ], $expected, $name);
}
graph_is('chain', [], "* c (core)\n* b bee\n* a\n", 'graph: a chain');
graph_is('fork', [], <<'OUT', 'graph: a fork and a merge');
* n
* m join
|\
* | b2
* | b
| * c
|/
* a root
OUT
graph_is('roots', [], <<'OUT', 'graph: two roots merged');
* m merge
|\
* | a root a
 /
* b root b
OUT
graph_is('dep', [], <<'OUT', 'graph: three branches, depends_on as a note');
* x  [depends on: a]
* b
| * d
| | * c
|/ /
|/
* a
OUT
graph_is('fork', [ '--format', 'dot' ], <<'OUT', 'graph --format dot');
digraph migrate {
	node [shape=box];
	"n" [label="n"];
	"m" [label="m\njoin"];
	"b2" [label="b2"];
	"b" [label="b"];
	"c" [label="c"];
	"a" [label="a\nroot"];
	"n" -> "m";
	"m" -> "b2";
	"m" -> "c";
	"b2" -> "b";
	"b" -> "a";
	"c" -> "a";
}
OUT
graph_is('dep', [ '--format', 'dot' ], <<'OUT', 'graph --format dot: depends_on dashed');
digraph migrate {
	node [shape=box];
	"x" [label="x"];
	"b" [label="b"];
	"d" [label="d"];
	"c" [label="c"];
	"a" [label="a"];
	"x" -> "b";
	"x" -> "a" [style=dashed];
	"b" -> "a";
	"d" -> "a";
	"c" -> "a";
}
OUT
graph_is('dep', [ '--format', 'mermaid' ], <<'OUT', 'graph --format mermaid');
flowchart TB
    n0["x"]
    n1["b"]
    n2["d"]
    n3["c"]
    n4["a"]
    n0 --> n1
    n0 -.-> n4
    n1 --> n4
    n2 --> n4
    n3 --> n4
OUT
graph_is('chain', [ '--format', 'mermaid' ], <<'OUT', 'graph --format mermaid: labels');
flowchart TB
    n0["c (core)"]
    n1["b<br>bee"]
    n2["a"]
    n0 --> n1
    n1 --> n2
OUT
pgm_fails([ '-D', $empty, '-d', 'g_chain', 'graph', '--format', 'svg' ],
	qr/unknown graph format "svg": text, dot or mermaid/, 'graph --format svg');

# --- registration order: parents and depends_on first, ties by name --------
my $odir = "$tmp/ordered";
make_path($odir);
write_file("$odir/b.sql", "-- migrate:revision b_second\n-- migrate:parents z_first\n"
	  . "-- migrate:depends_on lbl\n-- migrate:up\nSELECT 2;\n");
write_file("$odir/y.sql", "-- migrate:revision y_label\n-- migrate:parents z_first\n"
	  . "-- migrate:branch_labels lbl\n-- migrate:up\nSELECT 3;\n");
write_file("$odir/z.sql", "-- migrate:revision z_first\n-- migrate:parents base\n-- migrate:up\nSELECT 1;\n");
$node->safe_psql('postgres', 'CREATE DATABASE ordered');
$node->safe_psql('ordered', 'CREATE EXTENSION migrate');
pgm_is([ '-D', $odir, '-d', 'ordered', 'upgrade', 'heads' ], '',
	'a file whose parent sorts after it registers');
is($node->safe_psql('ordered', 'SELECT string_agg(revision, \' \' ORDER BY id) FROM migrate.history '
	  . "WHERE operation = 'add'"), 'z_first y_label b_second',
	'registered parents first, depends_on too, ties in byte order');
# a parent registered before, not among the files
my $later = "$tmp/later";
make_path($later);
write_file("$later/c.sql", "-- migrate:revision c_third\n-- migrate:parents b_second\n-- migrate:up\nSELECT 4;\n");
pgm_is([ '-D', $later, '-d', 'ordered', 'heads' ], "c_third (head)\ny_label (lbl) (head)\n",
	'a parent that only the database has');
write_file("$later/d.sql", "-- migrate:revision d_fourth\n-- migrate:parents nosuch\n-- migrate:up\nSELECT 5;\n");
pgm_fails([ '-D', $later, '-d', 'ordered', 'heads' ],
	qr/^pg_migrate: error: parent "nosuch" of file "\Q$later\E\/d.sql" is neither the revision of a file of "\Q$later\E" nor registered in the database\nHINT:  Add the missing file/,
	'a parent neither a file nor registered');
unlink("$later/d.sql");
# a cycle, through a file without parents header (after every file before it)
write_file("$later/a.sql", "-- migrate:revision a_loop\n-- migrate:parents e_loop\n-- migrate:up\nSELECT 6;\n");
write_file("$later/e.sql", "-- migrate:revision e_loop\n-- migrate:up\nSELECT 7;\n");
pgm_fails([ '-D', $later, '-d', 'ordered', 'heads' ],
	qr/form a cycle \(each names the next, the last the first\):\n  \Q$later\E\/a.sql\n  \Q$later\E\/e.sql \(no parents header: after every file before it\)\n/,
	'a cycle names its files');
is($node->safe_psql('ordered', 'SELECT count(*) FROM migrate.revision'), '4', 'nothing registered');

# --- passwords: -W asks first, -w never, else when the server asks ---------
$node->safe_psql('postgres',
	"SET password_encryption = 'scram-sha-256'; CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD 'secret'");
my $hba = $node->data_dir . '/pg_hba.conf';
my $hba_text = slurp($hba);
write_file($hba, "local all pwuser scram-sha-256\n$hba_text");
$node->reload;
# Runs pg_migrate ARGS as pwuser without a terminal (simple_prompt reads
# stdin then), the input given; returns (exit status, stdout, stderr).
sub pgm_pw
{
	my ($input, @args) = @_;
	my @cmd = ('setsid', '-w', 'pg_migrate', '-D', $empty, '-U', 'pwuser', '-d', 'g_chain', @args);
	my ($out, $err) = ('', '');
	print("# Running: @cmd\n");
	IPC::Run::run(\@cmd, '<', \$input, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}
($rc, $out, $err) = pgm_pw('', '-w', 'heads');
is($rc, 1, '-w: exit status 1');
like($err, qr/fe_sendauth: no password supplied/, '-w: no prompt');
($rc, $out, $err) = pgm_pw("secret\n", 'heads');
is($rc, 0, 'a prompt when the server asks: exit status 0') or diag($err);
is($out, "c (core) (head)\n", 'a prompt when the server asks: the command ran');
like($err, qr/\APassword: \n\z/, 'a prompt when the server asks: the prompt');
($rc, $out, $err) = pgm_pw("wrong\n", '-W', 'heads');
like($err, qr/\APassword: \n.*password authentication failed for user "pwuser"/s, '-W: a wrong password');
{
	local $ENV{PGPASSWORD} = 'wrong';
	($rc, $out, $err) = pgm_pw("secret\n", '-W', 'heads');
	is($rc, 0, '-W: asks even with PGPASSWORD') or diag($err);
}

$node->stop;
done_testing();
