# Adoption end to end (README, "Moving from Alembic, Flyway, Sqitch,
# golang-migrate, dbmate").  An application database that Alembic brought
# to its second revision (the SQL that `alembic upgrade head --sql` writes,
# version table included, run by psql) gets its migrations as migrate
# files, registers them with add_dir(), adopts Alembic's state and upgrades
# to the third revision: only that one runs, and the schema is the one that
# the same files give a fresh database.  Two adoptions at once: the second
# waits for the deploy lock, then is refused.  Then the same with Flyway:
# its schema history table as Flyway creates it, filled as Flyway fills it,
# its V files converted, adopt_flyway(), and the pending file upgraded.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use IPC::Run;
use MigrateTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

sub query
{
	my ($sql, $db) = @_;
	return $node->safe_psql($db, $sql);
}

# Runs a SQL file with psql as a deploy tool would: one transaction, stop at
# the first error.
sub psql_file
{
	my ($db, $path, $name) = @_;
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', $path ],
		$name);
	return;
}

# The application's schema, without the other tool's table (and without
# the random key of pg_dump's \restrict lines).
sub schema_of
{
	my ($db, $exclude) = @_;
	my ($out, $err);
	IPC::Run::run [ 'pg_dump', '--schema-only', '--no-owner', '-n', 'public', '-T', $exclude,
		'-d', $node->connstr($db) ], '>', \$out, '2>', \$err
	  or die "pg_dump $db failed: $err";
	$out =~ s/^\\(un)?restrict .*$//mg;
	return $out;
}

my $verify_sql = q{SELECT count(*) FROM migrate.verify()};

# ------------------------------------------------------------------ Alembic
query('CREATE DATABASE app', 'postgres');

# What `alembic upgrade head --sql` writes for the first two revisions.
my $alembic_sql = $node->basedir . '/alembic_upgrade.sql';
write_file($alembic_sql, <<'SQL');
BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 1a2b3c4d5e6f

CREATE TABLE account (
    id SERIAL NOT NULL, 
    name VARCHAR(50) NOT NULL, 
    PRIMARY KEY (id)
);

INSERT INTO alembic_version (version_num) VALUES ('1a2b3c4d5e6f') RETURNING alembic_version.version_num;

-- Running upgrade 1a2b3c4d5e6f -> 2b3c4d5e6f70

ALTER TABLE account ADD COLUMN email TEXT;

CREATE INDEX ix_account_email ON account (email);

UPDATE alembic_version SET version_num='2b3c4d5e6f70' WHERE alembic_version.version_num = '1a2b3c4d5e6f';

COMMIT;
SQL
psql_file('app', $alembic_sql, 'Alembic brings the application to 2b3c4d5e6f70');

# The three revisions as migrate files: Alembic's ids, down_revision as parents.
my $alembic_dir = $node->basedir . '/alembic_migrations';
mkdir $alembic_dir or die "mkdir $alembic_dir: $!";
write_file("$alembic_dir/0001_1a2b3c4d5e6f.sql", <<'SQL');
-- migrate:revision 1a2b3c4d5e6f
-- migrate:parents base
-- migrate:message create account table
-- migrate:up
CREATE TABLE account (
    id SERIAL NOT NULL, 
    name VARCHAR(50) NOT NULL, 
    PRIMARY KEY (id)
);
-- migrate:down
DROP TABLE account;
SQL
write_file("$alembic_dir/0002_2b3c4d5e6f70.sql", <<'SQL');
-- migrate:revision 2b3c4d5e6f70
-- migrate:parents 1a2b3c4d5e6f
-- migrate:message add email
-- migrate:up
ALTER TABLE account ADD COLUMN email TEXT;

CREATE INDEX ix_account_email ON account (email);
-- migrate:down
DROP INDEX ix_account_email;

ALTER TABLE account DROP COLUMN email;
SQL
write_file("$alembic_dir/0003_3c4d5e6f7081.sql", <<'SQL');
-- migrate:revision 3c4d5e6f7081
-- migrate:parents 2b3c4d5e6f70
-- migrate:message create session table
-- migrate:up
CREATE TABLE session (
    id SERIAL NOT NULL, 
    account_id INTEGER NOT NULL, 
    PRIMARY KEY (id), 
    FOREIGN KEY(account_id) REFERENCES account (id)
);
-- migrate:down
DROP TABLE session;
SQL

query('CREATE EXTENSION migrate', 'app');
is( query(qq{SELECT string_agg(id, ',' ORDER BY n) FROM migrate.add_dir('$alembic_dir') WITH ORDINALITY AS f(id, n)},
		'app'),
	'1a2b3c4d5e6f,2b3c4d5e6f70,3c4d5e6f7081',
	'the converted files are registered');

# Two adoptions at once: the second waits for the deploy lock, then finds
# the database adopted and is refused.
my $first = $node->background_psql('app');
$first->query_safe('BEGIN');
is($first->query_safe('SELECT migrate.adopt_alembic()'), '{2b3c4d5e6f70}',
	'adopt_alembic() returns the head Alembic recorded');
my ($second_out, $second_err) = ('', '');
my $second = IPC::Run::start(
	[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('app'),
		'-c', 'SELECT migrate.adopt_alembic()' ],
	'<', \undef, '>', \$second_out, '2>', \$second_err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok($node->poll_query_until('app', $LOCK_WAITERS_SQL, '1'),
	'a second adoption waits for the deploy lock');
$first->query_safe('COMMIT');
$first->quit;
$second->finish;
isnt($second->result(0), 0, 'then fails');
like($second_err, qr/migrate\.adopt_alembic\(\) needs a database with no revision applied/,
	'because the first one applied revisions');

is( query(q{SELECT string_agg(revision, ',' ORDER BY revision COLLATE "C") FROM migrate.applied}, 'app'),
	'1a2b3c4d5e6f,2b3c4d5e6f70', 'the applied set is the closure of Alembic\'s head');
is( query(q{SELECT string_agg(operation || ' ' || revision, ',' ORDER BY id) FROM migrate.history
			 WHERE operation = 'adopt'}, 'app'),
	'adopt 1a2b3c4d5e6f,adopt 2b3c4d5e6f70', 'one adopt row each, parents first');
is(query($verify_sql, 'app'), '0', 'verify() is empty');

is( query(q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}, 'app'),
	'3c4d5e6f7081', 'upgrade runs only the revision Alembic had not applied');
is(query($verify_sql, 'app'), '0', 'verify() is still empty');
is(query('SELECT version_num FROM alembic_version', 'app'), '2b3c4d5e6f70',
	'Alembic\'s table is left as it was');

# The same files on a fresh database give the same schema.
query('CREATE DATABASE fresh', 'postgres');
query('CREATE EXTENSION migrate', 'fresh');
query(qq{SELECT count(*) FROM migrate.add_dir('$alembic_dir')}, 'fresh');
query(q{SELECT count(*) FROM migrate.upgrade('head')}, 'fresh');
my $adopted = schema_of('app', 'alembic_version');
like($adopted, qr/CREATE TABLE public\.session/, 'the dump has the new table');
is($adopted, schema_of('fresh', 'alembic_version'),
	'the adopted database has the schema the files give a fresh one');

# ------------------------------------------------------------------- Flyway
query('CREATE DATABASE fly', 'postgres');

# Flyway's schema history table, as Flyway creates it, and two migrations
# as Flyway runs and records them.
my $flyway_sql = $node->basedir . '/flyway_migrate.sql';
write_file($flyway_sql, $FLYWAY_HISTORY_DDL . <<'SQL');

BEGIN;
CREATE TABLE item (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO "public"."flyway_schema_history" ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "execution_time", "success")
VALUES (1, '1', 'create item', 'SQL', 'V1__create_item.sql', -1617298340, 'flyway_user', 14, true);
COMMIT;
BEGIN;
ALTER TABLE item ADD price numeric(10, 2);
INSERT INTO "public"."flyway_schema_history" ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "execution_time", "success")
VALUES (2, '1.1', 'add price', 'SQL', 'V1_1__add_price.sql', 901355771, 'flyway_user', 6, true);
COMMIT;
SQL
psql_file('fly', $flyway_sql, 'Flyway brings the application to version 1.1');

# Flyway's files, converted: header lines added, a down section; numbered,
# as "V1_1__" sorts before "V1__" in byte order and add_dir() reads files so.
my $flyway_dir = $node->basedir . '/flyway_migrations';
mkdir $flyway_dir or die "mkdir $flyway_dir: $!";
write_file("$flyway_dir/0001_V1__create_item.sql", <<'SQL');
-- migrate:revision V1__create_item
-- migrate:parents base
-- migrate:message create item
-- migrate:up
CREATE TABLE item (id bigint PRIMARY KEY, name text NOT NULL);
-- migrate:down
DROP TABLE item;
SQL
write_file("$flyway_dir/0002_V1_1__add_price.sql", <<'SQL');
-- migrate:revision V1_1__add_price
-- migrate:parents V1__create_item
-- migrate:message add price
-- migrate:up
ALTER TABLE item ADD price numeric(10, 2);
-- migrate:down
ALTER TABLE item DROP price;
SQL
write_file("$flyway_dir/0003_V2__index_name.sql", <<'SQL');
-- migrate:revision V2__index_name
-- migrate:parents V1_1__add_price
-- migrate:message index name
-- migrate:up
CREATE INDEX item_name ON item (name);
-- migrate:down
DROP INDEX item_name;
SQL

query('CREATE EXTENSION migrate', 'fly');
query(qq{SELECT count(*) FROM migrate.add_dir('$flyway_dir')}, 'fly');
is(query('SELECT migrate.adopt_flyway()', 'fly'), '{V1__create_item,V1_1__add_price}',
	'adopt_flyway() marks applied what Flyway applied');
is( query(q{SELECT string_agg(format('%s %s %s %s %s', operation, revision, session_role,
			                           duration, detail ->> 'checksum'), E'\n' ORDER BY id)
			 FROM migrate.history WHERE operation IN ('import', 'adopt')}, 'fly'),
	join("\n",
		'import V1__create_item flyway_user 00:00:00.014 -1617298340',
		'import V1_1__add_price flyway_user 00:00:00.006 901355771',
		'adopt V1__create_item postgres 00:00:00 ',
		'adopt V1_1__add_price postgres 00:00:00 '),
	'Flyway\'s rows are imported (who, how long, Flyway\'s checksum), then adopted');
is( query(q{SELECT count(*) FROM migrate.history h, flyway_schema_history f
			 WHERE h.operation = 'import' AND (h.detail ->> 'installed_rank')::int = f.installed_rank
			   AND h.started_at = f.installed_on::timestamptz}, 'fly'),
	'2', 'each import row started when Flyway installed its migration');
is(query($verify_sql, 'fly'), '0', 'verify() is empty');
is( query(q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}, 'fly'),
	'V2__index_name', 'upgrade runs only the pending file');

query('CREATE DATABASE fly_fresh', 'postgres');
query('CREATE EXTENSION migrate', 'fly_fresh');
query(qq{SELECT count(*) FROM migrate.add_dir('$flyway_dir')}, 'fly_fresh');
query(q{SELECT count(*) FROM migrate.upgrade('head')}, 'fly_fresh');
is(schema_of('fly', 'flyway_schema_history'), schema_of('fly_fresh', 'flyway_schema_history'),
	'the adopted database has the schema the files give a fresh one');

$node->stop;
done_testing();
