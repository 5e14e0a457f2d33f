# pg_migrate import --from golang-migrate|dbmate|diesel|flyway|sqitch (issue
# 16; README "pg_migrate import"): for each tool a small project shaped like
# its real layout (a table, an index, a non-transactional migration where
# the tool has the notion, down SQL), imported and upgraded: pg_dump
# --schema-only of that database equals the one of a database where psql ran
# the original up scripts in the tool's order; a downgrade to base empties
# the schema again.  Then the refusals: a Flyway R file, an existing file, an
# unknown --from, a missing SRC; each exits 1 and writes nothing.
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

# Runs pg_migrate ARGS; returns (exit status, stdout, stderr).
sub pgm
{
	return run_pg_migrate(@_);
}

# Writes files under $root: a hash of relative path => content.
sub write_tree
{
	my ($root, %files) = @_;
	for my $rel (sort keys %files)
	{
		my $path = "$root/$rel";
		make_path($path =~ s{/[^/]*\z}{}r);
		open(my $fh, '>', $path) or die "$path: $!";
		print $fh $files{$rel};
		close($fh);
	}
	return;
}

# pg_dump --schema-only of $db without schema migrate and the \restrict
# lines (a random key each); both databases compared have the extension.
sub schema_of
{
	my ($db) = @_;
	my ($out, $err);
	IPC::Run::run [ 'pg_dump', '--schema-only', '--exclude-schema=migrate', '-d', $node->connstr($db) ],
	  '>', \$out, '2>', \$err
	  or die "pg_dump $db failed: $err";
	$out =~ s/^\\(?:un)?restrict [A-Za-z0-9]+\n//mg;
	return $out;
}

# The objects left in the schemas a project uses: relations, functions, types.
sub objects_in
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				 WHERE n.nspname NOT IN ('migrate', 'pg_catalog', 'information_schema', 'pg_toast'))
			 + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
				 WHERE n.nspname NOT IN ('migrate', 'pg_catalog', 'information_schema'))
			 + (SELECT count(*) FROM pg_namespace
				 WHERE nspname NOT IN ('migrate', 'pg_catalog', 'information_schema', 'public', 'pg_toast')
				   AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%')});
}

# Imports project $name of $tool, upgrades a database with it, and compares
# its schema with psql running @up (the tool's up scripts, in its order);
# then downgrades to base.  Returns the directory of migrate files.
sub check_import
{
	my ($tool, $name, $expected_files, @up) = @_;
	my $src = "$tmp/$name";
	my $dir = "$tmp/$name-migrations";
	my ($rc, $out, $err) = pgm('-D', $dir, 'import', '--from', $tool, $src);
	is($rc, 0, "$tool: import exit status 0") or diag($err);
	is($out, join('', map { "$dir/$_\n" } @$expected_files), "$tool: import prints the files, in order");

	$node->safe_psql('postgres', "CREATE DATABASE imp_$name; CREATE DATABASE psql_$name");
	$node->safe_psql("imp_$name", 'CREATE EXTENSION migrate');
	$node->safe_psql("psql_$name", 'CREATE EXTENSION migrate');
	($rc, $out, $err) = pgm('-d', "imp_$name", '-D', $dir, 'upgrade');
	is($rc, 0, "$tool: upgrade exit status 0") or diag($err);
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr("psql_$name"),
		  map { ('-f', "$src/$_") } @up ],
		"$tool: psql runs the original up scripts");
	my $schema = schema_of("imp_$name");
	like($schema, qr/CREATE (TABLE|INDEX)/, "$tool: the upgrade created objects");
	is($schema, schema_of("psql_$name"), "$tool: the same schema as psql running the originals");
	is($node->safe_psql("imp_$name", 'SELECT count(*) FROM migrate.verify()'), '0', "$tool: verify is empty");
	return $dir;
}

# Downgrades the imported database of $name to base: every object is gone.
sub check_downgrade
{
	my ($tool, $name) = @_;
	my ($rc, $out, $err) = pgm('-d', "imp_$name", '-D', "$tmp/$name-migrations", 'downgrade', 'base');
	is($rc, 0, "$tool: downgrade base exit status 0") or diag($err);
	is(objects_in("imp_$name"), '0', "$tool: downgrade base leaves no object");
	return;
}

# A file's text.
sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "$path: $!";
	local $/;
	return <$fh>;
}

# --- golang-migrate: mattermost's db/migrations/postgres pairs -------------
# numbers that byte order does not sort (9 before 10), a BEGIN/COMMIT pair,
# mattermost's morph marker on a concurrent index, ory/popx's .autocommit.
# and dialect files (only postgres ones are read, and preferred to a
# dialect-free one)
write_tree("$tmp/golang",
	'000001_create_teams.up.sql' => "CREATE TABLE IF NOT EXISTS teams (\n    id varchar(26) PRIMARY KEY,\n    name varchar(64)\n);\n",
	'000001_create_teams.down.sql' => "DROP TABLE IF EXISTS teams;\n",
	'000009_add_email.up.sql' => "BEGIN;\nALTER TABLE teams ADD COLUMN email varchar(128);\nCOMMIT;\n",
	'000009_add_email.down.sql' => "ALTER TABLE teams DROP COLUMN email;\n",
	'000010_idx_teams_name.up.sql' => "-- morph:nontransactional\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_teams_name ON teams (name);\n",
	'000010_idx_teams_name.down.sql' => "-- morph:nontransactional\nDROP INDEX CONCURRENTLY IF EXISTS idx_teams_name;\n",
	'000011_idx_teams_email.postgres.autocommit.up.sql' => "CREATE INDEX CONCURRENTLY idx_teams_email ON teams (email);\n",
	'000011_idx_teams_email.postgres.autocommit.down.sql' => "DROP INDEX CONCURRENTLY idx_teams_email;\n",
	'000011_idx_teams_email.mysql.up.sql' => "CREATE INDEX idx_teams_email ON teams (email(10));\n",
	'000012_comment.up.sql' => "COMMENT ON TABLE teams IS 'every dialect';\n",
	'000012_comment.postgres.up.sql' => "COMMENT ON TABLE teams IS 'postgres';\n",
	'000012_comment.down.sql' => "COMMENT ON TABLE teams IS NULL;\n",
	'README.md' => "migrations\n");
my $gdir = check_import('golang-migrate', 'golang',
	[ '0001_000001_create_teams.sql', '0002_000009_add_email.sql', '0003_000010_idx_teams_name.sql',
	  '0004_000011_idx_teams_email.sql', '0005_000012_comment.sql' ],
	'000001_create_teams.up.sql', '000009_add_email.up.sql', '000010_idx_teams_name.up.sql',
	'000011_idx_teams_email.postgres.autocommit.up.sql', '000012_comment.postgres.up.sql');
is( slurp("$gdir/0002_000009_add_email.sql"),
	"-- migrate:revision 000009_add_email\n-- migrate:parents 000001_create_teams\n"
	  . "-- migrate:message add email\n-- migrate:up\nALTER TABLE teams ADD COLUMN email varchar(128);\n"
	  . "-- migrate:down\nALTER TABLE teams DROP COLUMN email;\n",
	'golang-migrate: a file: id, parent, message, BEGIN and COMMIT taken out, down');
like(slurp("$gdir/0003_000010_idx_teams_name.sql"),
	qr/\A-- migrate:revision 000010_idx_teams_name\n-- migrate:parents 000009_add_email\n-- migrate:message idx teams name\n-- migrate:transactional false\n-- migrate:up\n-- morph:nontransactional\n/,
	'golang-migrate: the morph marker makes it non-transactional');
like(slurp("$gdir/0004_000011_idx_teams_email.sql"), qr/^-- migrate:transactional false$/m,
	'golang-migrate: an .autocommit. file is non-transactional');
like(slurp("$gdir/0005_000012_comment.sql"), qr/^-- migrate:up\nCOMMENT ON TABLE teams IS 'postgres';\n-- migrate:down\nCOMMENT ON TABLE teams IS NULL;\n\z/m,
	'golang-migrate: popx\'s .postgres. file takes the place of the dialect-free one');
is($node->safe_psql('imp_golang', q{SELECT string_agg(revision, ' ' ORDER BY revision) FROM migrate.revisions() WHERE NOT is_transactional}),
	'000010_idx_teams_name 000011_idx_teams_email', 'golang-migrate: registered non-transactional');
check_downgrade('golang-migrate', 'golang');

# --- dbmate: db/migrations/{timestamp}_{name}.sql with both sections -------
write_tree("$tmp/dbmate",
	'20240101120000_create_users.sql' => "-- migrate:up\ncreate table users (\n  id integer primary key,\n  name varchar(255)\n);\n\n-- migrate:down\ndrop table users;\n",
	'20240102120000_add_email.sql' => "-- migrate:up\nalter table users add column email text;\ncreate function users_email(u users) returns text language sql as \$\$ select u.email \$\$;\n\n-- migrate:down\ndrop function users_email(users);\nalter table users drop column email;\n",
	'20240103120000_index_email.sql' => "-- migrate:up transaction:false\ncreate index concurrently users_email_idx on users (email);\n\n-- migrate:down transaction:false\ndrop index concurrently users_email_idx;\n",
	'20240104120000_mood.sql' => "-- migrate:up\ncreate type mood as enum ('sad', 'ok');\n-- migrate:down\ndrop type mood;\n");
# psql runs the up sections only
for my $f (glob("$tmp/dbmate/*.sql"))
{
	my ($up) = slurp($f) =~ /^-- migrate:up[^\n]*\n(.*?)^-- migrate:down/ms;
	write_tree("$tmp/dbmate", 'up/' . ($f =~ s{.*/}{}r) => $up);
}
my $ddir = check_import('dbmate', 'dbmate',
	[ '0001_20240101120000_create_users.sql', '0002_20240102120000_add_email.sql',
	  '0003_20240103120000_index_email.sql', '0004_20240104120000_mood.sql' ],
	map { "up/$_" } qw(20240101120000_create_users.sql 20240102120000_add_email.sql
	  20240103120000_index_email.sql 20240104120000_mood.sql));
is( slurp("$ddir/0003_20240103120000_index_email.sql"),
	"-- migrate:revision 20240103120000_index_email\n-- migrate:parents 20240102120000_add_email\n"
	  . "-- migrate:message index email\n-- migrate:transactional false\n-- migrate:up\n"
	  . "create index concurrently users_email_idx on users (email);\n\n"
	  . "-- migrate:down\ndrop index concurrently users_email_idx;\n",
	'dbmate: transaction:false becomes transactional false');
check_downgrade('dbmate', 'dbmate');

# --- diesel: migrations/{date-time}_{name}/up.sql, down.sql, metadata.toml -
write_tree("$tmp/diesel",
	'00000000000000_diesel_initial_setup/up.sql' => "CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS \$\$\nBEGIN\n    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s\n                    FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);\nEND;\n\$\$ LANGUAGE plpgsql;\n",
	'00000000000000_diesel_initial_setup/down.sql' => "DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);\n",
	'2019-02-26-002946_create_user/up.sql' => "create table user_ (\n  id serial primary key,\n  name varchar(20) not null\n);\n",
	'2019-02-26-002946_create_user/down.sql' => "drop table user_;\n",
	'2019-03-03-163336_create_post/up.sql' => "create table post (\n  id serial primary key,\n  creator_id int references user_ on delete cascade\n);\n",
	'2019-03-03-163336_create_post/down.sql' => "drop table post;\n",
	'2020-01-01-000000_post_creator_index/up.sql' => "create index concurrently idx_post_creator on post (creator_id);\n",
	'2020-01-01-000000_post_creator_index/down.sql' => "drop index idx_post_creator;\n",
	'2020-01-01-000000_post_creator_index/metadata.toml' => "run_in_transaction = false\n",
	'.keep' => '');
my $sdir = check_import('diesel', 'diesel',
	[ '0001_00000000000000_diesel_initial_setup.sql', '0002_2019-02-26-002946_create_user.sql',
	  '0003_2019-03-03-163336_create_post.sql', '0004_2020-01-01-000000_post_creator_index.sql' ],
	'00000000000000_diesel_initial_setup/up.sql', '2019-02-26-002946_create_user/up.sql',
	'2019-03-03-163336_create_post/up.sql', '2020-01-01-000000_post_creator_index/up.sql');
like(slurp("$sdir/0004_2020-01-01-000000_post_creator_index.sql"), qr/^-- migrate:transactional false$/m,
	'diesel: run_in_transaction = false becomes transactional false');
check_downgrade('diesel', 'diesel');

# --- Flyway: sql/V{version}__{description}.sql, U undo files ---------------
# versions that byte order does not sort (1.10 after 1.2), a subdirectory
write_tree("$tmp/flyway",
	'V1__init.sql' => "CREATE TABLE account (id bigint PRIMARY KEY);\n",
	'U1__init.sql' => "DROP TABLE account;\n",
	'V1_2__add_users.sql' => "CREATE TABLE users (id bigint PRIMARY KEY, account_id bigint REFERENCES account);\n",
	'U1_2__add_users.sql' => "DROP TABLE users;\n",
	'release2/V1_10__users_account_idx.sql' => "CREATE INDEX CONCURRENTLY users_account_idx ON users (account_id);\n",
	'release2/V1_10__users_account_idx.sql.conf' => "executeInTransaction=false\n",
	'release2/U1_10__users_account_idx.sql' => "DROP INDEX users_account_idx;\n");
my $fdir = check_import('flyway', 'flyway',
	[ '0001_V1__init.sql', '0002_V1_2__add_users.sql', '0003_V1_10__users_account_idx.sql' ],
	'V1__init.sql', 'V1_2__add_users.sql', 'release2/V1_10__users_account_idx.sql');
is( slurp("$fdir/0002_V1_2__add_users.sql"),
	"-- migrate:revision V1_2__add_users\n-- migrate:parents V1__init\n-- migrate:message add users\n"
	  . "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY, account_id bigint REFERENCES account);\n"
	  . "-- migrate:down\nDROP TABLE users;\n",
	'flyway: the id adopt_flyway maps, the description as message, the U file as down');
like(slurp("$fdir/0003_V1_10__users_account_idx.sql"), qr/^-- migrate:transactional false$/m,
	'flyway: executeInTransaction=false becomes transactional false');
check_downgrade('flyway', 'flyway');

# --- Sqitch: sqitch.plan, deploy/, revert/, verify/; a reworked change -----
write_tree("$tmp/sqitch",
	'sqitch.plan' => <<'PLAN',
%syntax-version=1.0.0
%project=flipr
%uri=https://github.com/sqitchers/sqitch-intro/

appschema 2024-01-02T10:00:00Z Ann <ann@example.com> # Add schema for all flipr objects.
users [appschema] 2024-01-03T10:00:00Z Ann <ann@example.com> # Creates table to track our users.
flips [appschema users] 2024-01-04T10:00:00Z Ann <ann@example.com> # Adds table for storing flips.
@v1.0 2024-01-05T10:00:00Z Ann <ann@example.com> # Tag v1.0.

users [users@v1.0 flips] 2024-01-06T10:00:00Z Ann <ann@example.com> # Adds users.email.
PLAN
	'deploy/appschema.sql' => "-- Deploy flipr:appschema to pg\n\nBEGIN;\n\nCREATE SCHEMA flipr;\n\nCOMMIT;\n",
	'revert/appschema.sql' => "-- Revert flipr:appschema from pg\n\nBEGIN;\n\nDROP SCHEMA flipr;\n\nCOMMIT;\n",
	'verify/appschema.sql' => "SELECT pg_catalog.has_schema_privilege('flipr', 'usage');\n",
	'deploy/users@v1.0.sql' => "-- Deploy flipr:users to pg\n-- requires: appschema\n\nBEGIN;\n\nCREATE TABLE flipr.users (\n    nickname  TEXT        PRIMARY KEY,\n    password  TEXT        NOT NULL\n);\n\nCOMMIT;\n",
	'revert/users@v1.0.sql' => "BEGIN;\nDROP TABLE flipr.users;\nCOMMIT;\n",
	'deploy/flips.sql' => "BEGIN;\nCREATE TABLE flipr.flips (\n    id       BIGSERIAL   PRIMARY KEY,\n    nickname TEXT        NOT NULL REFERENCES flipr.users(nickname)\n);\nCREATE INDEX flips_nickname ON flipr.flips (nickname);\nCOMMIT;\n",
	'revert/flips.sql' => "BEGIN;\nDROP TABLE flipr.flips;\nCOMMIT;\n",
	'deploy/users.sql' => "BEGIN;\nALTER TABLE flipr.users ADD COLUMN email TEXT;\nCOMMIT;\n",
	'revert/users.sql' => "BEGIN;\nALTER TABLE flipr.users DROP COLUMN email;\nCOMMIT;\n");
my $qdir = check_import('sqitch', 'sqitch',
	[ '0001_appschema.sql', '0002_users.sql', '0003_flips.sql', '0004_users-2.sql' ],
	'deploy/appschema.sql', 'deploy/users@v1.0.sql', 'deploy/flips.sql', 'deploy/users.sql');
is( slurp("$qdir/0001_appschema.sql"),
	"-- migrate:revision appschema\n-- migrate:parents base\n"
	  . "-- migrate:message Add schema for all flipr objects.\n-- migrate:up\n"
	  . "-- Deploy flipr:appschema to pg\n\n\nCREATE SCHEMA flipr;\n\n"
	  . "-- migrate:down\n-- Revert flipr:appschema from pg\n\n\nDROP SCHEMA flipr;\n\n",
	'sqitch: the note as message, BEGIN and COMMIT taken out, revert/ as down');
like(slurp("$qdir/0003_flips.sql"), qr/^-- migrate:parents users\n-- migrate:depends_on appschema\n/m,
	'sqitch: requires other than the parent become depends_on');
like(slurp("$qdir/0004_users-2.sql"),
	qr/\A-- migrate:revision users-2\n-- migrate:parents flips\n-- migrate:depends_on users\n-- migrate:message Adds users.email.\n/,
	'sqitch: a reworked change: the second id, users@v1.0 is the first one');
check_downgrade('sqitch', 'sqitch');

# --- refusals: exit 1, nothing written --------------------------------------
# Checks that pg_migrate ARGS exits 1 with exactly that stderr, leaving $dir
# as it was.
sub refused
{
	my ($args, $dir, $expected, $name) = @_;
	my @before = sort glob("$dir/*");
	my ($rc, $out, $err) = pgm('-D', $dir, @$args);
	is($rc, 1, "$name: exit status 1");
	is($err, $expected, "$name: message");
	is($out, '', "$name: nothing on stdout");
	is_deeply([ sort glob("$dir/*") ], \@before, "$name: nothing written");
	return;
}

write_tree("$tmp/flyway_r", 'V1__init.sql' => "CREATE TABLE a (id int);\n",
	'R__views.sql' => "CREATE OR REPLACE VIEW v AS SELECT 1;\n");
refused([ 'import', '--from', 'flyway', "$tmp/flyway_r" ], "$tmp/out_r",
	"pg_migrate: error: cannot import Flyway repeatable migration \"$tmp/flyway_r/R__views.sql\"\n"
	  . "HINT:  A revision runs once: make the repeatable migration's current SQL a versioned (V) migration, and each later change of it a new one, then import again.\n",
	'a Flyway R file');
ok(!-e "$tmp/out_r", 'a Flyway R file: no directory made');
refused([ 'import', '--from', 'flyway', "$tmp/flyway" ], $fdir,
	"pg_migrate: error: file \"$fdir/0001_V1__init.sql\" already exists\n"
	  . "HINT:  Import into a new or empty directory (-D DIR); nothing was written.\n",
	'an existing file');
# a clash on a later file only: still nothing written
make_path("$tmp/clash");
write_tree("$tmp/clash", '0003_V1_10__users_account_idx.sql' => "x\n");
refused([ 'import', '--from', 'flyway', "$tmp/flyway" ], "$tmp/clash",
	"pg_migrate: error: file \"$tmp/clash/0003_V1_10__users_account_idx.sql\" already exists\n"
	  . "HINT:  Import into a new or empty directory (-D DIR); nothing was written.\n",
	'an existing later file');
refused([ 'import', '--from', 'liquibase', "$tmp/flyway" ], "$tmp/out_u",
	"pg_migrate: error: unknown --from \"liquibase\": golang-migrate, dbmate, diesel, flyway or sqitch\n"
	  . "Try \"pg_migrate --help\" for more information.\n",
	'an unknown --from');
refused([ 'import', '--from', 'dbmate', "$tmp/nosuch" ], "$tmp/out_m",
	"pg_migrate: error: could not open directory \"$tmp/nosuch\": No such file or directory\n",
	'a missing SRC');
refused([ 'import', '--from', 'dbmate' ], "$tmp/out_m",
	"pg_migrate: error: command \"import\" needs a source directory\n"
	  . "Try \"pg_migrate --help\" for more information.\n",
	'no SRC');
refused([ 'import', "$tmp/dbmate" ], "$tmp/out_m",
	"pg_migrate: error: command \"import\" needs --from TOOL\n"
	  . "Try \"pg_migrate --help\" for more information.\n",
	'no --from');
write_tree("$tmp/dbmate_bad", '20240101_x.sql' => "create table x (id int);\n-- migrate:up\nselect 1;\n");
refused([ 'import', '--from', 'dbmate', "$tmp/dbmate_bad" ], "$tmp/out_m",
	"pg_migrate: error: file \"$tmp/dbmate_bad/20240101_x.sql\" has SQL before its \"-- migrate:up\" line\n",
	'dbmate: SQL outside the sections');
write_tree("$tmp/golang_dup", '1_a.up.sql' => "select 1;\n", '01_b.up.sql' => "select 2;\n");
refused([ 'import', '--from', 'golang-migrate', "$tmp/golang_dup" ], "$tmp/out_m",
	"pg_migrate: error: \"$tmp/golang_dup/01_b.up.sql\" and \"$tmp/golang_dup/1_a.up.sql\" have the same version\n",
	'golang-migrate: two files of one version');

$node->stop;
done_testing();
