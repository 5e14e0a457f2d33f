# Self-contained offline SQL (issue 14): the script that
# upgrade_sql(target, register => true) writes on one database, run with
# psql -X -v ON_ERROR_STOP=1 -f on a database with nothing in it (no
# extension even), gives what registering the same revisions and upgrading
# online gives on another database: the same pg_dump --schema-only, the same
# migrate.revision rows (checksums), applied set and heads, the same history
# operations in the same order, and verify() empty.  Run a second time, the
# script is a no-op.  The same for a plan with a non-transactional revision
# (a script in parts) against CALL migrate.deploy().  On a database that is
# partly there (the revisions registered, or the first part applied) the
# script goes on from there; on one in another state it is refused and
# leaves nothing, not even the extension.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
# the history rows compared here predate drift, which test/t/090_drift.pl tests
$node->append_conf('postgresql.conf', 'migrate.track_drift = off');
$node->start;

sub query
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql);
}

# The revisions: two roots (b1, r1 with a label), a function whose body
# holds $$ and the tags the script could choose, a revision depending on the
# other root with a message with quotes, a merge without SQL, an
# irreversible revision, then a non-transactional one.  Registered in the
# order the script registers them (parents and dependencies first, ties by
# id), so that the online history has the same order.
my $revisions_to_r5 = q{
SELECT migrate.add('b1', 'CREATE TABLE audit (id bigserial PRIMARY KEY, what text NOT NULL)',
  'DROP TABLE audit', parents => '{}', message => 'audit root');
SELECT migrate.add('r1', $u$CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL DEFAULT 'it''s')$u$,
  'DROP TABLE users', parents => '{}', message => 'users', branch_labels => '{main}');
SELECT migrate.add('r2', $u$CREATE FUNCTION user_label(i int) RETURNS text LANGUAGE sql
AS $$SELECT name || ' $migrate$ $migrate1$ \\echo not psql :x' FROM users WHERE id = i$$;
-- ends in a comment $migrate$$$
$u$, 'DROP FUNCTION user_label(int)', parents => '{r1}', message => 'label function: $$');
SELECT migrate.add('r3', E'INSERT INTO users VALUES (1, \'a\');\nINSERT INTO audit (what) VALUES (\'it\'\'s "r3"\');',
  E'DELETE FROM audit;\nDELETE FROM users;', parents => '{r2}', depends_on => '{b1}',
  message => $m$data: it's "quoted" \ :x$m$);
SELECT migrate.add('r4', '', '', parents => '{r3,b1}', message => 'merge');
SELECT migrate.add('r5', 'CREATE VIEW user_names AS SELECT id, name FROM users',
  parents => '{r4}', message => 'irreversible view');
};
my $revision_r6 = q{
SELECT migrate.add('r6', 'CREATE INDEX CONCURRENTLY users_name_idx ON users (name)',
  'DROP INDEX CONCURRENTLY users_name_idx', parents => '{r5}', message => 'index');
};
my $revisions = $revisions_to_r5 . $revision_r6;

query('postgres', 'CREATE DATABASE src');
query('src', 'CREATE EXTENSION migrate');
query('src', $revisions);
is(query('src', q{SELECT string_agg(id || ':' || transactional, ',' ORDER BY id) FROM migrate.revision}),
	'b1:true,r1:true,r2:true,r3:true,r4:true,r5:true,r6:false', 'the source graph');

# Writes the script a query returns on src into a file (psql -XAtq -c ... > file).
my $n = 0;
sub generate
{
	my ($sql) = @_;
	my $file = $node->basedir . '/script' . ++$n . '.sql';
	my $err = '';
	IPC::Run::run([ 'psql', '-XAtq', '-d', $node->connstr('src'), '-c', $sql ],
		'>', $file, '2>', \$err);
	is($? >> 8, 0, "generating $sql") or diag($err);
	return $file;
}

# Runs a script file with psql -X -v ON_ERROR_STOP=1 -f; returns (status, stdout, stderr).
sub run_script
{
	my ($db, $file) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', $file ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# pg_dump --schema-only, less the random key of \restrict lines.
sub schema_dump
{
	my ($db) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_dump', '--schema-only', '-d', $node->connstr($db) ],
		'>', \$out, '2>', \$err);
	is($? >> 8, 0, "pg_dump --schema-only of $db") or diag($err);
	return $out =~ s/^\\(un)?restrict .*$//mgr;
}

# What must be equal, offline and online.
my %compare = (
	revisions => q{
		SELECT string_agg(format('%s %s %s %s %s %s %s %s %s %s', id, parents, depends_on,
		                         branch_labels, message, md5(up_sql), md5(down_sql), checksum,
		                         created_by, transactional), E'\n' ORDER BY id)
		  FROM migrate.revision},
	heads => q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.revision_head},
	applied => q{
		SELECT string_agg(format('%s %s %s', revision, checksum, applied_by), E'\n' ORDER BY revision)
		  FROM migrate.applied},
	data => q{
		SELECT format('%s|%s', (SELECT string_agg(format('%s %s', id, name), ',' ORDER BY id) FROM users),
		              (SELECT string_agg(what, ',' ORDER BY id) FROM audit))},
	verify => q{SELECT count(*) FROM migrate.verify()},
);
# The history: operations, revisions, targets, checksums, and the detail of
# add rows (a step's detail is deploy's, which offline_step does not write).
my $history = q{
	SELECT string_agg(format('%s %s %s %s %s %s', operation, revision, target, success, checksum,
	                         CASE WHEN operation = 'add' THEN detail END), E'\n' ORDER BY id)
	  FROM migrate.history};

# Compares the offline database with the online one.
sub same_state
{
	my ($phase, $offline, $online) = @_;
	is(schema_dump($offline), schema_dump($online), "$phase: the same pg_dump --schema-only");
	for my $what (sort keys %compare)
	{
		is(query($offline, $compare{$what}), query($online, $compare{$what}),
			"$phase: the same $what");
	}
	is(query($offline, $history), query($online, $history), "$phase: the same history");
	is(query($offline, $compare{verify}), '0', "$phase: verify() is empty");
	return;
}

# The revisions are those of src, checksums included.
my $src_revisions = query('src', $compare{revisions});

# Phase 1: to r5 in one transaction, on a database with nothing in it.
my $script1 = generate(q{SELECT migrate.upgrade_sql('r5', register => true)});
is(query('src', 'SELECT count(*) FROM migrate.applied'), '0', 'generating applied nothing');
query('postgres', 'CREATE DATABASE off1');
query('postgres', 'CREATE DATABASE on1');
my ($rc, $out, $err) = run_script('off1', $script1);
is($rc, 0, 'phase 1: the script runs on an empty database') or diag($err);
query('on1', 'CREATE EXTENSION migrate');
query('on1', $revisions_to_r5);
query('on1', q{SELECT * FROM migrate.upgrade('r5')});
same_state('phase 1', 'off1', 'on1');
is(query('off1', q{SELECT extversion FROM pg_extension WHERE extname = 'migrate'}),
	query('src', q{SELECT extversion FROM pg_extension WHERE extname = 'migrate'}),
	'phase 1: the extension at the version of the source');
is(query('off1', $compare{revisions}),
	query('src', $compare{revisions} =~ s/FROM migrate.revision/FROM migrate.revision WHERE id <> 'r6'/r),
	'phase 1: the revisions of src, checksums included');
is(query('off1', q{SELECT string_agg(c, ',') FROM migrate.current() AS c}), 'r5', 'phase 1: at r5');
is(query('off1', $compare{data}), '1 a|it\'s "r3"', 'phase 1: the data is there');
is( query('off1', q{SELECT string_agg(operation || ' ' || revision, ',' ORDER BY id) FROM migrate.history}),
	'add b1,add r1,add r2,add r3,add r4,add r5,upgrade b1,upgrade r1,upgrade r2,upgrade r3,upgrade r4,upgrade r5',
	'phase 1: the registrations, then the steps');
is(query('off1', q{SELECT count(DISTINCT operation_id) FROM migrate.history WHERE operation = 'upgrade'}),
	'1', 'phase 1: the steps are one operation');
is( query('off1', q{SELECT user_label(1)}), 'a $migrate$ $migrate1$ \\echo not psql :x',
	'phase 1: the function body went through psql as it is');
is(query('off1', q{SELECT message FROM migrate.revision WHERE id = 'r3'}), 'data: it\'s "quoted" \\ :x',
	'phase 1: and the message');

# The same script again: nothing to do, it says so and changes nothing.
my %before = map { $_ => query('off1', $compare{$_}) } keys %compare;
my $history1 = query('off1', $history);
my $dump1 = schema_dump('off1');
($rc, $out, $err) = run_script('off1', $script1);
is($rc, 0, 'phase 1: the script runs a second time') or diag($err);
like($out, qr/^skipped: every revision of the plan is applied$/m, 'phase 1: and says it skipped');
like($err, qr/extension "migrate" already exists, skipping/, 'phase 1: the extension is there');
unlike($out . $err, qr/migrate\.add|ERROR/, 'phase 1: no registration ran');
is(query('off1', $compare{$_}), $before{$_}, "phase 1, second run: the same $_") for sort keys %compare;
is(query('off1', $history), $history1, 'phase 1, second run: no history row');
is(schema_dump('off1'), $dump1, 'phase 1, second run: the same schema');

# Phase 2: to head, with r6 non-transactional: a script in parts, against
# CALL migrate.deploy() online.
my $script2 = generate(q{SELECT migrate.upgrade_sql('head', register => true)});
query('postgres', 'CREATE DATABASE off2');
query('postgres', 'CREATE DATABASE on2');
($rc, $out, $err) = run_script('off2', $script2);
is($rc, 0, 'phase 2: the script in parts runs on an empty database') or diag($err);
query('on2', 'CREATE EXTENSION migrate');
query('on2', $revisions);
query('on2', q{CALL migrate.deploy('head')});
same_state('phase 2', 'off2', 'on2');
is(query('off2', $compare{revisions}), $src_revisions, 'phase 2: the revisions of src');
is(query('off2', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_name_idx'::regclass}),
	't', 'phase 2: the index built concurrently is valid');
is(query('off2', q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'}), '0',
	'phase 2: no lock left');

%before = map { $_ => query('off2', $compare{$_}) } keys %compare;
my $history2 = query('off2', $history);
($rc, $out, $err) = run_script('off2', $script2);
is($rc, 0, 'phase 2: the script in parts runs a second time') or diag($err);
is( join(',', $out =~ /^(skipped: .*)$/mg),
	'skipped: every revision of the plan is applied,skipped: revision r5 is applied,skipped: revision r6 is applied',
	'phase 2: every part is skipped');
is(query('off2', $compare{$_}), $before{$_}, "phase 2, second run: the same $_") for sort keys %compare;
is(query('off2', $history), $history2, 'phase 2, second run: no history row');

# Partly there (a): the extension and the revisions registered, nothing
# applied: the registrations do nothing, the steps run.
query('postgres', 'CREATE DATABASE part_a');
query('part_a', 'CREATE EXTENSION migrate');
query('part_a', $revisions);
my $adds = query('part_a', 'SELECT count(*) FROM migrate.history');
($rc, $out, $err) = run_script('part_a', $script1);
is($rc, 0, 'partly there (registered): the r5 script runs') or diag($err);
is( query('part_a', "SELECT string_agg(operation || ' ' || revision, ',' ORDER BY id) FROM migrate.history WHERE id > $adds"),
	'upgrade b1,upgrade r1,upgrade r2,upgrade r3,upgrade r4,upgrade r5',
	'partly there (registered): no add row, the steps');
is(query('part_a', $compare{applied}), query('on1', $compare{applied}),
	'partly there (registered): the applied set of an online upgrade');
is(query('part_a', $compare{verify}), '0', 'partly there (registered): verify() is empty');

# Partly there (b): off1, brought to r5 by the first script, takes the head
# script: r6 is registered, the first part skipped, r6 runs.
my $hid = query('off1', 'SELECT max(id) FROM migrate.history');
($rc, $out, $err) = run_script('off1', $script2);
is($rc, 0, 'partly there (at r5): the head script runs') or diag($err);
like($out, qr/^skipped: revision r5 is applied$/m, 'partly there (at r5): the first part is skipped');
is( query('off1', "SELECT string_agg(operation || ' ' || revision, ',' ORDER BY id) FROM migrate.history WHERE id > $hid"),
	'add r6,upgrade r6', 'partly there (at r5): r6 is registered and applied');
is(query('off1', $compare{revisions}), $src_revisions, 'partly there (at r5): the revisions of src');
is(query('off1', $compare{applied}), query('on2', $compare{applied}),
	'partly there (at r5): the applied set of the online deploy');
is(schema_dump('off1'), schema_dump('on2'), 'partly there (at r5): the schema of the online deploy');
is(query('off1', $compare{verify}), '0', 'partly there (at r5): verify() is empty');

# Another state: a script planned from r2 on an empty database is refused by
# offline_begin, and its transaction takes everything back, the extension too.
my $script3 = generate(q{SELECT migrate.upgrade_sql('r3', 'r2', register => true)});
query('postgres', 'CREATE DATABASE off3');
($rc, $out, $err) = run_script('off3', $script3);
isnt($rc, 0, 'a script from r2 is refused on an empty database');
like($err, qr/the database is not in the state this script starts from/, 'by offline_begin');
like($err, qr/DETAIL:  Revisions "r1", "r2" are applied where the script starts, but not here\./,
	'naming what it needs');
is(query('off3', q{SELECT count(*) FROM pg_extension WHERE extname = 'migrate'}), '0',
	'and leaves no extension');
is(query('off3', q{SELECT count(*) FROM pg_namespace WHERE nspname = 'migrate'}), '0',
	'nor its schema');

# The same script where r1 and r2 are applied (on1 at r5 is beyond: refused
# too): a database brought to r2 online runs it.
query('postgres', 'CREATE DATABASE on3');
query('on3', 'CREATE EXTENSION migrate');
query('on3', $revisions);
query('on3', q{SELECT * FROM migrate.upgrade('r2')});
($rc, $out, $err) = run_script('on3', $script3);
is($rc, 0, 'the script from r2 runs on a database at r2') or diag($err);
is(query('on3', q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied}),
	'b1,r1,r2,r3', 'which then has what r3 needs applied');
is(query('on3', $compare{verify}), '0', 'verify() is empty there');

$node->stop;
done_testing();
