# Offline SQL (SPEC section 1, upgrade_sql/downgrade_sql): the script one
# database generates, run with psql on another database with the same
# revisions, does what the online operation does on the first: the same
# applied set, the same schema, the same history operations, and verify()
# finds nothing in either.  Planned from another start than the live state
# too.  On a database in another state, or whose revision differs, the script
# is refused and changes nothing.
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

# The revisions, the same in every database: a chain, a second root, a
# merge, SQL ending in a line comment, a function body holding a line that
# psql would take for a meta-command outside a string, a quote in a default.
my $revisions = q{
SELECT migrate.add('r0001_users',
  up => $u$CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL DEFAULT 'it''s')$u$,
  down => 'DROP TABLE users', message => 'users');
SELECT migrate.add('r0002_email',
  up => E'ALTER TABLE users ADD email text; -- a comment ends the SQL',
  down => 'ALTER TABLE users DROP email', message => 'email');
SELECT migrate.add('r0003_label',
  up => E'CREATE FUNCTION user_label(i int) RETURNS text LANGUAGE sql AS $body$\nSELECT name || \'\n\\\\echo not psql\n-- migrate:down\n\' FROM users WHERE id = i\n$body$;',
  down => 'DROP FUNCTION user_label(int)', message => 'label function');
SELECT migrate.add('b0001_audit',
  up => 'CREATE TABLE audit (id bigserial PRIMARY KEY, what text NOT NULL)',
  down => 'DROP TABLE audit', parents => '{}', message => 'audit root');
SELECT migrate.add('r0004_merge', parents => '{r0003_label,b0001_audit}',
  up => E'CREATE INDEX users_email_idx ON users (email);\nINSERT INTO users VALUES (1, \'a\', \'a@example.com\');\nINSERT INTO audit (what) VALUES (\'merged\');\n',
  down => E'DELETE FROM audit;\nDELETE FROM users;\nDROP INDEX users_email_idx;',
  message => 'index and data');
SELECT migrate.add('r0005_view',
  up => 'CREATE VIEW user_emails AS SELECT id, email FROM users',
  down => 'DROP VIEW user_emails', message => 'view');
};

for my $db ('db1', 'db2', 'db3')
{
	query('postgres', "CREATE DATABASE $db");
	query($db, 'CREATE EXTENSION migrate');
	query($db, $revisions);
}
is(query('db1', 'SELECT * FROM migrate.heads()'), 'r0005_view', 'one head');

# What must be equal: the applied set with checksums, the schema, the data.
my %compare = (
	applied => q{
		SELECT string_agg(revision || ':' || checksum, E'\n' ORDER BY revision COLLATE "C")
		  FROM migrate.applied},
	columns => q{
		SELECT string_agg(format('%s.%s %s %s %s %s', table_name, column_name, ordinal_position,
		                         data_type, column_default, is_nullable), E'\n'
		                  ORDER BY table_name, ordinal_position)
		  FROM information_schema.columns WHERE table_schema = 'public'},
	indexes => q{
		SELECT string_agg(indexname || ' ' || indexdef, E'\n' ORDER BY indexname)
		  FROM pg_indexes WHERE schemaname = 'public'},
	functions => q{
		SELECT string_agg(proname || ' ' || prosrc, E'\n' ORDER BY proname)
		  FROM pg_proc WHERE pronamespace = 'public'::regnamespace},
	data => q{SELECT test_helper.users_dump()},
	verify => q{SELECT count(*) FROM migrate.verify()},
);
# users may not exist: read it through a function that checks first (in a
# schema of its own, out of the schema comparison)
for my $db ('db1', 'db2', 'db3')
{
	query($db, q{
		CREATE SCHEMA test_helper;
		CREATE FUNCTION test_helper.users_dump() RETURNS text LANGUAGE plpgsql
		SET search_path = pg_catalog AS $$
		BEGIN
			IF to_regclass('public.users') IS NULL THEN RETURN '-'; END IF;
			RETURN (SELECT coalesce(string_agg(format('%s %s %s', id, name, email), ',' ORDER BY id), '')
			          FROM public.users);
		END $$;
	});
}

# The history operations (and targets) written after a given history id.
sub history_since
{
	my ($db, $since) = @_;
	return query($db, qq{
		SELECT string_agg(format('%s %s %s %s', operation, revision, target, success), E'\n' ORDER BY id)
		  FROM migrate.history WHERE id > $since});
}

sub last_history_id
{
	my ($db) = @_;
	return query($db, 'SELECT coalesce(max(id), 0) FROM migrate.history');
}

# Writes the script a query returns into a file, as the README does
# (psql -XAtq -c ... > file).
my $n = 0;
sub generate
{
	my ($db, $sql) = @_;
	my $file = $node->basedir . '/script' . ++$n . '.sql';
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-XAtq', '-d', $node->connstr($db), '-c', $sql ],
		'>', $file, '2>', \$err);
	is($? >> 8, 0, "generating $sql on $db succeeds") or diag($err);
	return $file;
}

# Runs a script file with psql -X -v ON_ERROR_STOP=1 -f; returns (exit status, stderr).
sub run_script
{
	my ($db, $file) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', $file ],
		'>', \$out, '2>', \$err);
	return ($? >> 8, $err);
}

# Compares db1 (online) and db2 (offline) after a phase.
sub same_state
{
	my ($phase, $since1, $since2) = @_;
	for my $what (sort keys %compare)
	{
		is(query('db2', $compare{$what}), query('db1', $compare{$what}),
			"$phase: the same $what offline and online");
	}
	is(history_since('db2', $since2), history_since('db1', $since1),
		"$phase: the same history operations, revisions and targets");
	is( query('db2', "SELECT count(DISTINCT operation_id) FROM migrate.history WHERE id > $since2"),
		'1', "$phase: the script is one operation");
	is(query('db1', $compare{verify}), '0', "$phase: verify() is empty online");
	is(query('db2', $compare{verify}), '0', "$phase: verify() is empty offline");
	return;
}

# Phase 1: up to r0002_email, planned from base although db1 is there anyway.
my ($h1, $h2) = (last_history_id('db1'), last_history_id('db2'));
my $script1 = generate('db1', q{SELECT migrate.upgrade_sql('r0002_email', start => 'base')});
is(query('db1', $compare{applied}), '', 'generating changed nothing');
is(query('db1', 'SELECT count(*) FROM migrate.history'), '6', 'not even the history');
my ($rc, $err) = run_script('db2', $script1);
is($rc, 0, 'phase 1: the script runs on db2') or diag($err);
is( query('db1', q{SELECT string_agg(revision, ',') FROM migrate.upgrade('r0002_email')}),
	'r0001_users,r0002_email', 'phase 1: online upgrade on db1');
same_state('upgrade to r0002_email', $h1, $h2);
is( history_since('db2', $h2),
	"upgrade r0001_users r0002_email t\nupgrade r0002_email r0002_email t",
	'phase 1: the history rows are the two upgrades');

# Phase 2: to head from current.
($h1, $h2) = (last_history_id('db1'), last_history_id('db2'));
my $script2 = generate('db1', q{SELECT migrate.upgrade_sql('head')});
my $script2b = generate('db1', q{SELECT migrate.upgrade_sql('head', start => 'r0002_email')});
is(PostgreSQL::Test::Utils::slurp_file($script2b) =~ s/^-- migrate: .*\n//r,
	PostgreSQL::Test::Utils::slurp_file($script2) =~ s/^-- migrate: .*\n//r,
	'phase 2: planned from the start named or from current, the same script');
($rc, $err) = run_script('db2', $script2);
is($rc, 0, 'phase 2: the script runs on db2') or diag($err);
is( query('db1', q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}),
	'b0001_audit,r0003_label,r0004_merge,r0005_view', 'phase 2: online upgrade on db1');
same_state('upgrade to head', $h1, $h2);
is( query('db2', q{SELECT string_agg(DISTINCT table_name, ',' ORDER BY table_name) FROM information_schema.columns WHERE table_schema = 'public'}),
	'audit,user_emails,users', 'phase 2: the tables and the view exist');
is( query('db2', q{SELECT to_json(user_label(1))}), '"a\n\\\\echo not psql\n-- migrate:down\n"',
	'phase 2: psql passed the function body through as it is');
is(query('db2', $compare{data}), '1 a a@example.com', 'phase 2: the data is there');

# The same script again, on db2 now at head: refused, nothing changed.
my %before = map { $_ => query('db2', $compare{$_}) } keys %compare;
my $count2 = query('db2', 'SELECT count(*) FROM migrate.history');
($rc, $err) = run_script('db2', $script2);
isnt($rc, 0, 'a script run twice is refused the second time');
like($err, qr/the database is not in the state this script starts from/, 'by offline_begin');
like($err, qr/DETAIL:  Revisions "b0001_audit", "r0003_label", "r0004_merge", "r0005_view" are applied here, but not where the script starts\./,
	'which lists what differs');
is(query('db2', $compare{$_}), $before{$_}, "and changes no $_") for sort keys %compare;
is(query('db2', 'SELECT count(*) FROM migrate.history'), $count2, 'and writes no history');

# db3 is at r0001_users: the phase 1 script (from base) is refused there.
query('db3', q{SELECT * FROM migrate.upgrade('r0001_users')});
my $count3 = query('db3', 'SELECT count(*) FROM migrate.history');
($rc, $err) = run_script('db3', $script1);
isnt($rc, 0, 'a script planned from base is refused on a database at r0001_users');
like($err, qr/DETAIL:  Revision "r0001_users" is applied here, but not where the script starts\./, 'naming the revision');
is(query('db3', $compare{applied}),
	'r0001_users:' . query('db1', q{SELECT checksum FROM migrate.revision WHERE id = 'r0001_users'}),
	'db3 is still at r0001_users');
is(query('db3', 'SELECT count(*) FROM migrate.history'), $count3, 'with no new history');

# db3 with other SQL for r0002_email (so another checksum): the script runs
# r0002's SQL, then offline_step refuses, and the transaction takes it back.
query('db3', q{
	SELECT migrate.downgrade('base');
	SELECT migrate.add('r0002_email', up => 'ALTER TABLE users ADD email varchar(100)',
	                   down => 'ALTER TABLE users DROP email', message => 'email');
});
$count3 = query('db3', 'SELECT count(*) FROM migrate.history');
($rc, $err) = run_script('db3', $script1);
isnt($rc, 0, 'a script is refused where a revision has other SQL');
like($err, qr/revision "r0002_email" differs from the one the script was generated from/,
	'by offline_step, naming the revision');
is(query('db3', $compare{applied}), '', 'nothing is applied');
is(query('db3', q{SELECT to_regclass('public.users') IS NULL}), 't',
	'the table the first step created is gone');
is(query('db3', 'SELECT count(*) FROM migrate.history'), $count3, 'no history row');
is(query('db3', $compare{verify}), '0', 'verify() is empty on db3');

# Phase 3: one step back.
($h1, $h2) = (last_history_id('db1'), last_history_id('db2'));
my $script3 = generate('db1', q{SELECT migrate.downgrade_sql('-1')});
($rc, $err) = run_script('db2', $script3);
is($rc, 0, 'phase 3: the downgrade script runs on db2') or diag($err);
is( query('db1', q{SELECT string_agg(revision, ',') FROM migrate.downgrade('-1')}),
	'r0005_view', 'phase 3: online downgrade on db1');
same_state('downgrade -1', $h1, $h2);

# Phase 4: down to a revision id, through the merge.
($h1, $h2) = (last_history_id('db1'), last_history_id('db2'));
my $script4 = generate('db1', q{SELECT migrate.downgrade_sql('r0002_email')});
($rc, $err) = run_script('db2', $script4);
is($rc, 0, 'phase 4: the downgrade script runs on db2') or diag($err);
is( query('db1', q{SELECT string_agg(revision, ',') FROM migrate.downgrade('r0002_email')}),
	'r0004_merge,r0003_label', 'phase 4: online downgrade on db1');
same_state('downgrade to r0002_email', $h1, $h2);
is(query('db2', $compare{data}), '', 'phase 4: the data is gone');

# Phase 5: to base.
($h1, $h2) = (last_history_id('db1'), last_history_id('db2'));
my $script5 = generate('db1', q{SELECT migrate.downgrade_sql('base')});
($rc, $err) = run_script('db2', $script5);
is($rc, 0, 'phase 5: the downgrade script runs on db2') or diag($err);
is( query('db1', q{SELECT string_agg(revision, ',') FROM migrate.downgrade('base')}),
	'r0002_email,r0001_users,b0001_audit', 'phase 5: online downgrade on db1');
same_state('downgrade to base', $h1, $h2);
is(query('db2', $compare{columns}), '', 'phase 5: no table is left');

# The whole history, offline and online, as operations.
is( query('db2', q{SELECT string_agg(operation || ' ' || revision, ',' ORDER BY id) FROM migrate.history WHERE operation <> 'add'}),
	query('db1', q{SELECT string_agg(operation || ' ' || revision, ',' ORDER BY id) FROM migrate.history WHERE operation <> 'add'}),
	'the whole history of db2 (offline) is that of db1 (online)');

$node->stop;
done_testing();
