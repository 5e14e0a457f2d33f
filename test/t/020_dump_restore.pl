# pg_dump and pg_restore keep the whole migration state: the extension's
# tables are registered with pg_extension_config_dump, so a custom-format dump
# of a database with revisions, applied revisions and history (upgrades, a
# downgrade, a stamp, a failed deploy, a replace) restores into a new
# database with revisions, revision_head, applied, history and both sequences
# identical row for row, the detail that add and replace rows record
# included, so verify() still checks message, branch_labels and created_by
# against it.  verify() is empty there; the restored database can
# upgrade and downgrade, and its history continues the chain (new rows link
# to the last restored row, ids and operation ids continue), verify() still
# empty.  Then the same dump, taken by an auditor role that has only the
# grants docs/roles.md documents: without SELECT on migrate's sequences
# pg_dump fails; with them the dump restores exactly the same; and the
# migrate-only dump (pg_dump -e migrate -n migrate) needs no grant on the
# application's tables.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
# the history rows compared here predate drift, which test/t/090_drift.pl tests
$node->append_conf('postgresql.conf', 'migrate.track_drift = off');
$node->start;

my $tempdir = PostgreSQL::Test::Utils::tempdir;
my $auditor = 'regress_migrate_auditor';

sub query
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql);
}

# One md5 per table: every row as text, in a fixed order.  Hashes, times and
# pids are compared through it, never printed.
my %state_sql = (
	revision => q{SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id COLLATE "C"), '')) FROM migrate.revision t},
	revision_head => q{SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.revision COLLATE "C"), '')) FROM migrate.revision_head t},
	applied => q{SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.revision COLLATE "C"), '')) FROM migrate.applied t},
	history => q{SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM migrate.history t},
	history_id_seq => q{SELECT md5(t::text) FROM (SELECT last_value, is_called FROM migrate.history_id_seq) t},
	operation_id_seq => q{SELECT md5(t::text) FROM (SELECT last_value, is_called FROM migrate.operation_id_seq) t},
	users => q{SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM users t},
	orders => q{SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM orders t},
);
my @migrate_tables = qw(revision revision_head applied history history_id_seq operation_id_seq);

# Compares the tables named in $names between two databases, one test each.
sub same_state
{
	my ($db, $names, $what) = @_;
	for my $name (@$names)
	{
		is(query($db, $state_sql{$name}), query('src', $state_sql{$name}),
			"$what: $name is identical to the source");
	}
	return;
}

# The restored database works: upgrade, downgrade, the chain continues.
sub continues
{
	my ($db, $what) = @_;
	my $last_id = query($db, 'SELECT max(id) FROM migrate.history');
	my $last_op = query($db, 'SELECT max(operation_id) FROM migrate.history');

	is(query($db, q{SELECT revision FROM migrate.upgrade('head')}),
		'0005_index', "$what: upgrade applies the pending revision");
	is(query($db, 'SELECT migrate.check()'), '', "$what: check() is silent at head");
	is(query($db, q{SELECT string_agg(revision, ',') FROM migrate.downgrade('-2')}),
		'0005_index,0004_marker', "$what: downgrade runs the down SQL");
	is(query($db, q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}),
		'0004_marker,0005_index', "$what: and upgrade again");
	is( query(
			$db, qq{
		SELECT count(*),
		       bool_and(h.id > $last_id AND h.operation_id > $last_op),
		       bool_and(h.prev_hash = p.hash)
		  FROM migrate.history h
		  JOIN migrate.history p ON p.id = (SELECT max(x.id) FROM migrate.history x WHERE x.id < h.id)
		 WHERE h.id > $last_id}),
		'5|t|t',
		"$what: the new history rows continue ids, operation ids and the hash chain");
	is(query($db, 'SELECT * FROM migrate.verify()'),
		'', "$what: verify() is empty after the new operations");
	is( query(
			$db, q{
		SELECT pg_get_userbyid(relowner) = current_user FROM pg_class
		 WHERE relname = 'users_email_idx'}),
		't',
		"$what: the revision's index exists");
	return;
}

# The source database: every kind of history row, application data.
query('postgres', 'CREATE DATABASE src');
query('src', 'CREATE EXTENSION migrate');
query(
	'src', q{
	SELECT migrate.add('0001_users', up => 'CREATE TABLE users (id int PRIMARY KEY)',
	                   down => 'DROP TABLE users', message => 'users');
	SELECT migrate.add('0002_email', up => 'ALTER TABLE users ADD email text',
	                   down => 'ALTER TABLE users DROP email', message => 'email');
	SELECT migrate.add('0003_orders',
	                   up => 'CREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users)',
	                   down => 'DROP TABLE orders', branch_labels => '{shop}');
	SELECT migrate.add('0004_marker', up => '', down => '', message => 'marker');
});
is(query('src', q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}),
	'0001_users,0002_email,0003_orders,0004_marker', 'source: upgrade to head');
is(query('src', q{SELECT string_agg(revision, ',') FROM migrate.downgrade('-1')}),
	'0004_marker', 'source: downgrade one step');
is(query('src', q{SELECT migrate.stamp('head')}), '{0004_marker}', 'source: stamp head');
query('src', q{SELECT migrate.add('0005_index', up => 'SELECT 1/0', down => '')});
my ($rc, $stdout, $stderr) = $node->psql('src', 'CALL migrate.deploy()');
isnt($rc, 0, 'source: a deploy fails');
like($stderr, qr/division by zero/, 'source: with the revision\'s error');
query(
	'src', q{
	SELECT migrate.add('0005_index', up => 'CREATE INDEX users_email_idx ON users (email)',
	                   down => 'DROP INDEX users_email_idx', message => 'index');
	INSERT INTO users VALUES (1, 'a@example.org'), (2, NULL);
	INSERT INTO orders (user_id) VALUES (1), (1), (2);
});
is( query(
		'src', q{
	SELECT string_agg(operation || ':' || success, ',' ORDER BY operation, success)
	  FROM (SELECT DISTINCT operation, success FROM migrate.history) o}),
	'add:true,downgrade:true,replace:true,stamp:true,upgrade:false,upgrade:true',
	'source: history has every kind of row, a failure included');
is(query('src', 'SELECT count(*) FROM migrate.history'), '13', 'source: thirteen history rows');
is(query('src', 'SELECT count(*) FROM migrate.history WHERE detail IS NOT NULL'),
	'6', 'source: the add and replace rows carry detail');
is(query('src', 'SELECT * FROM migrate.verify()'), '', 'source: verify() is empty');

# pg_dump -Fc as the superuser, restored into a new database.
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tempdir/src.dump", '-d', 'src' ],
	'pg_dump -Fc of the source');
query('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', 'restored', "$tempdir/src.dump" ],
	'pg_restore into a new database');
same_state('restored', [ @migrate_tables, 'users', 'orders' ], 'restored');
is(query('restored', 'SELECT count(*) FROM migrate.history'),
	'13', 'restored: the thirteen history rows');
is(query('restored', 'SELECT * FROM migrate.verify()'), '', 'restored: verify() is empty');
my $detail_sql = q{SELECT string_agg(revision || ' ' || detail::text, '|' ORDER BY id)
                     FROM migrate.history WHERE detail IS NOT NULL};
is(query('restored', $detail_sql), query('src', $detail_sql), 'restored: the same detail');
is( query(
		'restored', q{
	BEGIN;
	UPDATE migrate.revision SET message = 'edited', created_by = 'regress_migrate_nobody'
	 WHERE id = '0001_users';
	SELECT string_agg(problem || ' ' || revision, ',') FROM migrate.verify();
	ROLLBACK;}),
	'revision altered 0001_users,revision altered 0001_users',
	'restored: verify() compares message and created_by with the restored detail');
is(query('restored', 'SELECT current_heads, heads, pending FROM migrate.status'),
	'{0004_marker}|{0005_index}|1', 'restored: status');
continues('restored', 'restored');

# The auditor of docs/roles.md, plus read access to the application's tables
# (a whole-database dump reads them too).  Without SELECT on migrate's
# sequences pg_dump fails.
query(
	'src', qq{
	CREATE ROLE $auditor LOGIN;
	GRANT USAGE ON SCHEMA migrate TO $auditor;
	GRANT SELECT ON migrate.revision, migrate.revision_head, migrate.applied,
	                migrate.history, migrate.status TO $auditor;
	GRANT SELECT ON migrate.schema_object, migrate.schema_root, migrate.drift_event TO $auditor;
	GRANT EXECUTE ON FUNCTION
	    migrate.current(), migrate.heads(), migrate.revisions(text), migrate.show(text),
	    migrate.plan(text, text), migrate.script(text), migrate.upgrade_sql(text, text, boolean),
	    migrate.downgrade_sql(text, text), migrate.verify(), migrate.check(), migrate.lock_key()
	  TO $auditor;
	GRANT SELECT ON ALL TABLES IN SCHEMA public TO $auditor;
	GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO $auditor;
});
$node->command_fails_like(
	[ 'pg_dump', '-Fc', '-U', $auditor, '-f', "$tempdir/nope.dump", '-d', 'src' ],
	qr/permission denied for sequence (history_id_seq|operation_id_seq|drift_event_id_seq)/,
	'auditor: pg_dump needs SELECT on migrate\'s sequences');
query('src',
	"GRANT SELECT ON SEQUENCE migrate.history_id_seq, migrate.operation_id_seq, migrate.drift_event_id_seq TO $auditor");
$node->command_ok(
	[ 'pg_dump', '-Fc', '-U', $auditor, '-f', "$tempdir/auditor.dump", '-d', 'src' ],
	'auditor: pg_dump -Fc with the documented grants');
is(query('src', 'SELECT count(*) FROM migrate.history'), '13',
	'auditor: the dump wrote nothing to the source');
query('postgres', 'CREATE DATABASE restored_auditor');
$node->command_ok(
	[
		'pg_restore', '--exit-on-error', '-d', 'restored_auditor',
		"$tempdir/auditor.dump"
	],
	'auditor: its dump restores');
same_state('restored_auditor', [ @migrate_tables, 'users', 'orders' ], 'auditor dump');
is(query('restored_auditor', 'SELECT * FROM migrate.verify()'),
	'', 'auditor dump: verify() is empty');
is( query(
		'restored_auditor', qq{
	SELECT has_table_privilege('$auditor', 'migrate.history', 'SELECT'),
	       has_table_privilege('$auditor', 'migrate.history', 'INSERT'),
	       has_sequence_privilege('$auditor', 'migrate.history_id_seq', 'SELECT'),
	       has_function_privilege('$auditor', 'migrate.verify()', 'EXECUTE'),
	       has_function_privilege('$auditor', 'migrate.upgrade(text)', 'EXECUTE')}),
	't|f|t|t|f',
	'auditor dump: the grants themselves are restored');
continues('restored_auditor', 'auditor dump');

# Only migrate's state: pg_dump -e migrate -n migrate reads no application
# table, so the auditor needs no grant on them.
query('src',
	"REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM $auditor; REVOKE SELECT ON ALL SEQUENCES IN SCHEMA public FROM $auditor"
);
$node->command_fails_like(
	[ 'pg_dump', '-Fc', '-U', $auditor, '-f', "$tempdir/nope.dump", '-d', 'src' ],
	qr/permission denied for (table|sequence) (users|orders|orders_id_seq)/,
	'auditor: a whole-database dump needs the application\'s tables');
$node->command_ok(
	[
		'pg_dump', '-Fc', '-U', $auditor, '-e', 'migrate', '-n', 'migrate',
		'-f', "$tempdir/state.dump", '-d', 'src'
	],
	'auditor: pg_dump -e migrate -n migrate with the documented grants');
query('postgres', 'CREATE DATABASE restored_state');
$node->command_ok(
	[
		'pg_restore', '--exit-on-error', '-d', 'restored_state',
		"$tempdir/state.dump"
	],
	'state dump: restores');
same_state('restored_state', \@migrate_tables, 'state dump');
is(query('restored_state', q{SELECT to_regclass('users') IS NULL}),
	't', 'state dump: holds no application table');
is(query('restored_state', 'SELECT * FROM migrate.verify()'),
	'', 'state dump: verify() is empty');
is(query('restored_state', q{SELECT string_agg(revision, ',') FROM migrate.plan('upgrade', 'head')}),
	'0005_index', 'state dump: plans the pending revision');

# The source itself is untouched and still consistent.
is(query('src', 'SELECT * FROM migrate.verify()'), '', 'source: verify() is still empty');

for my $db (qw(src restored restored_auditor restored_state))
{
	query($db, "DROP OWNED BY $auditor");
}
query('postgres', "DROP ROLE $auditor");
$node->stop;
done_testing();
