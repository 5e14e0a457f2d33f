# Drift (README, "Drift"): schema changes made outside migrate are recorded
# by the event triggers as they happen and found by the schema model.
# Out-of-band CREATE, ALTER, DROP, GRANT and COMMENT are each staged by the
# trigger, moved into the history as hash-chained drift rows by the next
# migrate call, and reported by drift(); the same changes made by revisions,
# in the caller's backend (deploy, revert) and in the background worker (a
# non-transactional revision), are not; migrate.record_drift pauses the
# recording, and says so; a role without any privilege on migrate's tables
# gets its DDL recorded; a deploy does not absorb earlier drift; and a
# pg_dump of the database restores with the same recorded model, fingerprint
# and no drift.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "migrate.drift_schemas = 'app'");
$node->append_conf('postgresql.conf', 'migrate.track_drift = on');
$node->start;
my $tempdir = PostgreSQL::Test::Utils::tempdir;

sub query
{
	my ($sql, $db) = @_;
	return $node->safe_psql($db // 'postgres', $sql);
}

# The tags of the staged events, in order, and of the history's drift rows.
sub staged
{
	return query(q{SELECT string_agg(command_tag || ' ' || coalesce(objects->0->>'identity', event), ', ' ORDER BY id)
	                 FROM migrate.drift_event});
}

sub drift_objects
{
	return query(q{SELECT string_agg(kind || ' ' || identity || ' ' || change, ', ' ORDER BY kind, identity)
	                 FROM migrate.drift() WHERE kind <> 'ddl'});
}

query(q{CREATE EXTENSION migrate; CREATE SCHEMA app});
query(q{SELECT migrate.add('r1', 'CREATE TABLE app.users (id int PRIMARY KEY, email text)', 'DROP TABLE app.users')});
query(q{SELECT migrate.add('r2', 'ALTER TABLE app.users ADD name text; COMMENT ON TABLE app.users IS ''people''; GRANT SELECT ON app.users TO PUBLIC',
                           'ALTER TABLE app.users DROP name')});
query(q{SELECT migrate.add('r3', 'CREATE INDEX CONCURRENTLY users_email ON app.users (email)',
                           'DROP INDEX CONCURRENTLY app.users_email')});
query(q{CALL migrate.deploy('head')});
is(query(q{SELECT count(*) FROM migrate.applied}), '3', 'deploy applied three revisions, one in the worker');
is(staged(), '', 'revisions\' DDL, in the backend and in the worker, is not staged');
is(drift_objects(), '', 'nor drift: the baseline and the deploy\'s changes are recorded');
is(query(q{SELECT count(*) FROM migrate.history WHERE operation = 'drift'}), '0',
	'CREATE SCHEMA app, before the first model was recorded, is part of the baseline');
is(query(q{SELECT migrate.check()}), '', 'check() is silent');

# each kind of out-of-band change, one by one
my @changes = (
	[ 'CREATE TABLE app.hot (a int)', 'CREATE TABLE app.hot', 'column app.hot.a added, table app.hot added' ],
	[ 'ALTER TABLE app.users ADD phone text', 'ALTER TABLE app.users', 'column app.users.phone added, table app.users changed' ],
	[ 'DROP TABLE app.hot', 'DROP TABLE app.hot', 'column app.hot.a removed, table app.hot removed' ],
	[ 'GRANT UPDATE ON app.users TO PUBLIC', 'GRANT ', 'table app.users changed' ],
	[ 'COMMENT ON COLUMN app.users.email IS $$mail$$', 'COMMENT app.users.email', 'column app.users.email changed' ],
);
for my $c (@changes)
{
	my ($sql, $tag, $objects) = @$c;
	query(q{SELECT migrate.accept_drift('next')});
	query($sql);
	like(staged(), qr/^\Q$tag\E/, "$tag: staged by the trigger");
	like(drift_objects(), qr/\Q$objects\E/, "$tag: found by the schema model");
}
is(query(q{SELECT count(*) FROM migrate.drift() WHERE kind = 'ddl' AND change = 'recorded'}), '1',
	'drift() lists the staged event');

# the next call moves the staged events into the history, chained
query(q{SELECT migrate.add('r4', 'CREATE TABLE app.later (a int)', 'DROP TABLE app.later')});
is(staged(), '', 'the next migrate call moved the staged event');
is( query(
		q{SELECT detail->>'command_tag', detail->'objects'->0->>'identity', session_role, revision
		    FROM migrate.history WHERE operation = 'drift' ORDER BY id DESC LIMIT 1}),
	'COMMENT|app.users.email|postgres|',
	'as a drift row with its command, object and role');
is(query(q{SELECT count(*) FROM migrate.verify()}), '0', 'the drift rows are hash-chained');

# a deploy does not absorb the drift, and records what it changed
my $drift_rows = query(q{SELECT count(*) FROM migrate.history WHERE operation = 'drift'});
query(q{CALL migrate.deploy('head')});
is(drift_objects(), 'column app.users.email changed', 'the deploy kept the comment as drift, took its table in');
is(staged(), '', 'the deploy\'s DDL was not staged');
query(q{CALL migrate.revert('r3')});
is(drift_objects(), 'column app.users.email changed', 'nor does a revert');
query(q{CALL migrate.revert('r2')});
is(drift_objects(), 'column app.users.email changed', 'nor a revert through the worker (DROP INDEX CONCURRENTLY)');
is(staged(), '', 'whose DDL is not staged either');
query(q{CALL migrate.deploy('head')});
is(query(q{SELECT count(*) FROM migrate.history WHERE operation = 'drift'}), $drift_rows,
	'no drift row came from the deploys and reverts');
query(q{SELECT migrate.accept_drift('the comment stays')});
is(query(q{SELECT migrate.check()}), '', 'check() is silent after accept_drift()');

# with nothing awaiting accept_drift(), a call records only what its
# revisions touched, the worker's statements included
query(q{CALL migrate.revert('r2')});
is(drift_objects(), '', 'a revert through the worker, recorded from what the worker touched');
query(q{CALL migrate.deploy('head')});
is(drift_objects(), '', 'and the deploy that builds the index again in the worker');
is(query(q{SELECT count(*) FROM migrate.schema_object WHERE kind = 'index' AND identity = 'app.users_email'}), '1',
	'whose index is in the recorded model');

# a role without any privilege on migrate's tables
query(q{CREATE ROLE dev LOGIN; GRANT USAGE, CREATE ON SCHEMA app TO dev});
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM migrate.drift_event',
	extra_params => [ '-U', 'dev' ]);
like($err, qr/permission denied/, 'dev cannot read migrate\'s tables');
$node->safe_psql('postgres', 'CREATE TABLE app.devs (a int)', extra_params => [ '-U', 'dev' ]);
is(query(q{SELECT session_role || ' ' || command_tag FROM migrate.drift_event ORDER BY id DESC LIMIT 1}),
	'dev CREATE TABLE', 'dev\'s DDL is recorded all the same');

# the pause
query(q{SET migrate.record_drift = off; CREATE TABLE app.quiet (a int); CREATE TABLE app.quiet2 (a int);
        RESET migrate.record_drift; CREATE TABLE app.loud (a int)});
is(staged(), 'GRANT app, CREATE TABLE app.devs, SET paused, SET resumed, CREATE TABLE app.loud',
	'pausing is recorded once, then resuming, and nothing in between');
like(drift_objects(), qr/table app\.quiet added, table app\.quiet2 added/,
	'what was not recorded is found by the model');
query(q{SELECT migrate.accept_drift('maintenance window')});

# an offline script's revisions are migrate's own: recorded, not drift, in
# both directions; each step's row carries the fingerprint after it
query(q{SELECT migrate.add('o1', 'CREATE TABLE app.orders (id int PRIMARY KEY); ALTER TABLE app.users ADD nick text',
                           'DROP TABLE app.orders; ALTER TABLE app.users DROP nick')});
query(q{SELECT migrate.add('o2', 'CREATE VIEW app.nicks AS SELECT nick FROM app.users', 'DROP VIEW app.nicks')});
for my $step ([ 'upgrade', q{SELECT migrate.upgrade_sql('head')} ],
	[ 'downgrade', q{SELECT migrate.downgrade_sql('r4')} ])
{
	my ($op, $generate) = @$step;
	my $file = "$tempdir/offline-$op.sql";
	open(my $fh, '>', $file) or die "$file: $!";
	print $fh query($generate);
	close($fh);
	$node->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', $file ],
		"the offline $op script runs");
	is(staged(), '', "offline $op: its DDL is not staged as drift");
	is(query(q{SELECT count(*) FROM migrate.drift()}), '0', "offline $op: no drift: its changes are in the recorded model");
	is(query(q{SELECT count(*) FROM migrate.history WHERE operation = '} . $op . q{' AND revision IN ('o1', 'o2')
	             AND detail->>'schema_fingerprint' IS NOT NULL AND id > (SELECT max(id) FROM migrate.history WHERE operation = 'accept')}),
		'2', "offline $op: each step's row has the fingerprint");
	is(query(q{SELECT detail->>'schema_fingerprint' = migrate.schema_fingerprint() FROM migrate.history ORDER BY id DESC LIMIT 1}),
		't', "offline $op: the last row's fingerprint is the live schema's");
}
is(query(q{SELECT count(*) FROM pg_class WHERE relname IN ('orders', 'nicks')}), '0', 'the downgrade script ran');
query(q{SELECT migrate.remove('o2'); SELECT migrate.remove('o1')});

# dump and restore: the recorded model and the fingerprint come along, no drift
query(q{CREATE TABLE app.pending_event (a int)});
my $dump = "$tempdir/drift.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', 'postgres' ], 'pg_dump -Fc');
query('CREATE DATABASE restored');
{
	# as pg_restore names itself (PostgreSQL::Test::Utils sets PGAPPNAME)
	local $ENV{PGAPPNAME} = 'pg_restore';
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'restored', $dump ], 'pg_restore');
}
# under another application name the restore works too: only what it runs
# after loading the recorded model (indexes, constraints) is recorded
query('CREATE DATABASE restored2');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'restored2', $dump ],
	'pg_restore under another name');
is(query(q{SELECT count(*) FROM migrate.drift() WHERE kind <> 'ddl'}, 'restored2'),
	query(q{SELECT count(*) FROM migrate.drift() WHERE kind <> 'ddl'}),
	'restored2: the same objects differ as in the source');
for my $sql (
	q{SELECT md5(string_agg(t::text, '|' ORDER BY kind, identity)) FROM migrate.schema_object t},
	q{SELECT migrate.schema_fingerprint()},
	q{SELECT string_agg(kind || ' ' || identity || ' ' || change, ', ') FROM migrate.drift()},
	q{SELECT string_agg(command_tag, ', ' ORDER BY id) FROM migrate.drift_event})
{
	is(query($sql, 'restored'), query($sql), "restored: same as the source: $sql");
}
query(q{SELECT migrate.accept_drift('the pending table')});
query(q{SELECT migrate.accept_drift('the pending table')}, 'restored');
is(query(q{SELECT count(*) FROM migrate.drift()}, 'restored'), '0', 'restored: no drift');
is(query(q{SELECT migrate.check()}, 'restored'), '', 'restored: check() is silent');
is(query(q{SELECT count(*) FROM migrate.verify()}, 'restored'), '0', 'restored: verify() is empty');

$node->stop;
done_testing();
