# pg_migrate plan (issue 17): the steps of an upgrade, downgrade or stamp and
# the lint findings of the SQL each would run, for people and as JSON;
# arguments, a database without the extension, and one still on 1.0.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;
$ENV{PGDATABASE} = 'app';
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('postgres', 'CREATE DATABASE noext');
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('app', 'CREATE EXTENSION migrate');
$node->safe_psql('old', q{CREATE EXTENSION migrate VERSION '1.0'});

my $dir = PostgreSQL::Test::Utils::tempdir . '/migrations';
mkdir($dir) or die "$dir: $!";

# --- arguments ---------------------------------------------------------------
command_fails_like([ 'pg_migrate', '-D', $dir, 'plan' ],
	qr/^pg_migrate: error: command "plan" needs an operation \(upgrade, downgrade or stamp\)\nTry "pg_migrate --help"/,
	'plan without an operation');
command_fails_like([ 'pg_migrate', '-D', $dir, 'plan', 'sideways' ],
	qr/unknown operation "sideways" of command "plan": upgrade, downgrade or stamp/,
	'plan with an unknown operation');
command_fails_like([ 'pg_migrate', '-D', $dir, 'plan', 'downgrade' ],
	qr/command "plan downgrade" needs a target revision/, 'plan downgrade without a target');
command_fails_like([ 'pg_migrate', '-D', $dir, 'plan', 'stamp', 'a', 'b' ],
	qr/too many arguments for command "plan" \(first extra: "b"\)/, 'plan with an extra argument');
command_fails_like([ 'pg_migrate', '-D', $dir, '-d', 'noext', 'plan', 'upgrade' ],
	qr/extension "migrate" is not installed in database "noext"/, 'plan without the extension');
command_fails_like([ 'pg_migrate', '-D', $dir, '-d', 'old', 'plan', 'upgrade' ],
	qr/extension "migrate" 1\.0 in database "old" has no lint findings in its plan\nHINT:  Run ALTER EXTENSION migrate UPDATE;/,
	'plan on a database still on 1.0');
command_like([ 'pg_migrate', '--help' ], qr/^  plan upgrade \[TARGET\] \| plan downgrade TARGET \| plan stamp TARGET$/m,
	'--help lists plan');

# --- a project: a table of 20,000 rows, then an index and a rename ----------
append_to_file("$dir/0001_users.sql", <<'SQL');
-- migrate:revision 0001_users
-- migrate:parents base
-- migrate:message create users
-- migrate:up
CREATE TABLE users (id int PRIMARY KEY, name text);
-- migrate:down
DROP TABLE users;
SQL
command_like([ 'pg_migrate', '-D', $dir, 'plan', 'upgrade' ],
	qr/\A\[1\/1\] upgrade 0001_users, create users\n\z/, 'plan upgrade: a step without findings');
command_ok([ 'pg_migrate', '-D', $dir, 'upgrade' ], 'upgrade');
$node->safe_psql('app', 'INSERT INTO users SELECT i, i::text FROM generate_series(1, 20000) i; ANALYZE users');

append_to_file("$dir/0002_name_idx.sql", <<'SQL');
-- migrate:revision 0002_name_idx
-- migrate:parents 0001_users
-- migrate:message index names
-- migrate:up
CREATE INDEX users_name ON users (name);
-- migrate:down
DROP INDEX users_name;
SQL
append_to_file("$dir/0003_rename.sql", <<'SQL');
-- migrate:revision 0003_rename
-- migrate:parents 0002_name_idx
-- migrate:lint-ignore renaming-column the application reads it through a view
-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE users RENAME name TO full_name;
-- migrate:down
ALTER TABLE users RENAME full_name TO name;
SQL

my $idx_findings =
	qq{    warning require-lock-timeout line 1: CREATE INDEX waits for its lock on "users" with no lock_timeout\n}
  . qq{    warning require-concurrent-index-creation line 1: CREATE INDEX on "users" blocks its writes while the index builds\n};
# the registration warns (add() with migrate.lint = warn), the plan lists
# the findings of each step; 0003 sets lock_timeout and ignores its rename
my ($out, $err) = run_command([ 'pg_migrate', '-D', $dir, 'plan', 'upgrade', '0002_name_idx' ]);
like($err, qr/\AWARNING:  01000: CREATE INDEX waits for its lock on "users" with no lock_timeout\n/,
	'the registration of 0002 warns');
# (run_command chomps)
is("$out\n", "[1/1] upgrade 0002_name_idx, index names\n$idx_findings", 'plan upgrade 0002_name_idx');
command_like([ 'pg_migrate', '-D', $dir, 'plan', 'upgrade', 'head' ],
	qr/\A\[1\/2\] upgrade 0002_name_idx, index names\n\Q$idx_findings\E\[2\/2\] upgrade 0003_rename\n\z/,
	'plan upgrade head: each step and its findings');
command_like([ 'pg_migrate', '-D', $dir, 'plan', 'upgrade', '0002' ],
	qr/\A\[1\/1\] upgrade 0002_name_idx, index names\n\Q$idx_findings\E\z/, 'plan upgrade to a prefix');
# migrate.lock_timeout satisfies require-lock-timeout
{
	local $ENV{PGOPTIONS} = '-c migrate.lock_timeout=2s';
	command_like([ 'pg_migrate', '-D', $dir, 'plan', 'upgrade', '0002_name_idx' ],
		qr/\A\[1\/1\] upgrade 0002_name_idx, index names\n    warning require-concurrent-index-creation line 1: [^\n]*\n\z/,
		'plan upgrade with migrate.lock_timeout set');
}
# a stamp step runs no SQL: no findings
command_like([ 'pg_migrate', '-D', $dir, 'plan', 'stamp', 'head' ],
	qr/\A\[1\/2\] stamp 0002_name_idx, index names\n\[2\/2\] stamp 0003_rename\n\z/, 'plan stamp');
# --json: findings as an array (null for a stamp step)
($out, $err) = run_command([ 'pg_migrate', '-D', $dir, '--json', 'plan', 'upgrade' ]);
my $doc = decode_json($out);
is_deeply([ map { [ $_->{step}, $_->{revision}, $_->{operation}, scalar @{ $_->{findings} } ] } @$doc ],
	[ [ 1, '0002_name_idx', 'upgrade', 2 ], [ 2, '0003_rename', 'upgrade', 0 ] ], '--json plan upgrade');
like($doc->[0]{findings}[1], qr/^warning require-concurrent-index-creation line 1: /, '--json plan: a finding');
($out, $err) = run_command([ 'pg_migrate', '-D', $dir, '--json', 'plan', 'stamp', 'head' ]);
is_deeply([ map { $_->{findings} } @{ decode_json($out) } ], [ undef, undef ], '--json plan stamp: null findings');

# nothing to do; a downgrade step lints the down SQL, a relative target
command_ok([ 'pg_migrate', '-D', $dir, 'upgrade' ], 'upgrade to head');
command_like([ 'pg_migrate', '-D', $dir, 'plan', 'upgrade' ], qr/\Anothing to do\n\z/, 'plan upgrade at head');
command_like([ 'pg_migrate', '-D', $dir, 'plan', 'downgrade', '-2' ],
	qr/\A\[1\/2\] downgrade 0003_rename\n    warning require-lock-timeout line 1: ALTER TABLE \.\.\. RENAME waits for its lock on "users" with no lock_timeout\n\[2\/2\] downgrade 0002_name_idx, index names\n\z/,
	'plan downgrade -2: the findings of the down SQL, less the rule the revision ignores');
command_fails_like([ 'pg_migrate', '-D', $dir, 'plan', 'upgrade', 'nosuch' ],
	qr/^ERROR:  [0-9A-Z]{5}: .*nosuch/m, 'plan to an unknown target: the server error');
# plan changes nothing
is($node->safe_psql('app', q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate.applied}),
	'0001_users,0002_name_idx,0003_rename', 'plan applied nothing');

$node->stop;
done_testing();
