# migrate.add_dir() on a directory of migration files (SPEC sections 1 and 6):
# only regular *.sql files, in byte order of their names (not of their ids),
# CRLF files read as LF, one transaction: a malformed file fails the whole
# call, names the file in the error context and registers nothing.  Then the
# README's client-side ways to register the same files (psql's \set with a
# backtick `cat`, and the shell loop over a directory) give the very same
# revisions.
use strict;
use warnings;

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

sub query
{
	my ($sql, $db) = @_;
	return $node->safe_psql($db // 'postgres', $sql);
}

# Runs SQL that must fail; returns its stderr (psql with VERBOSITY verbose,
# so the SQLSTATE is in the message, and the CONTEXT lines).
sub query_fails
{
	my ($sql, $db) = @_;
	my ($rc, $out, $err) = $node->psql($db // 'postgres', $sql,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	isnt($rc, 0, 'the call fails');
	return $err;
}

# Everything the graph says about its revisions, one line each.
my $graph_sql = q{
	SELECT string_agg(format('%s|%s|%s|%s|%s', id, array_to_string(parents, ','),
	                         array_to_string(depends_on, ','), message,
	                         down_sql IS NULL), E'\n' ORDER BY id COLLATE "C")
	  FROM migrate.revision};
my $checksums_sql = q{
	SELECT string_agg(id || ':' || checksum, E'\n' ORDER BY id COLLATE "C")
	  FROM migrate.revision};
my $counts_sql = q{
	SELECT (SELECT count(*) FROM migrate.revision) || ' revisions, '
	    || (SELECT count(*) FROM migrate.history) || ' history rows'};

query('CREATE EXTENSION migrate');

# The migrations: a directory the server can read (it runs as this user).
my $dir = $node->basedir . '/migrations';
mkdir $dir or die "mkdir $dir: $!";

# Every file but the first has no parents line: its parent is the single head
# when it is registered, so the chain says in which order they were read.
# The ids sort in another order than the file names (zz, aa, mm, bb, vv, gg).
my %files = (
	'001_init.sql' => "-- migrate:revision zz_init\n"
	  . "-- migrate:parents base\n"
	  . "-- migrate:message users\n"
	  . "-- migrate:up\n"
	  . "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
	  . "-- migrate:down\n"
	  . "DROP TABLE users;\n",
	'002_email.sql' => "-- a comment before the header\n"
	  . "-- migrate:revision aa_email\n"
	  . "-- migrate:message email\n"
	  . "-- migrate:up\n"
	  . "ALTER TABLE users ADD email text;\n"
	  . "-- migrate:down\n"
	  . "ALTER TABLE users DROP email;\n",
	# written on Windows: CRLF line ends
	'003_index.sql' => "-- migrate:revision mm_index\r\n"
	  . "-- migrate:message index\r\n"
	  . "-- migrate:up\r\n"
	  . "CREATE INDEX users_email ON users (email);\r\n"
	  . "-- migrate:down\r\n"
	  . "DROP INDEX users_email;\r\n",
	# marker words inside a function body are SQL
	'010_function.sql' => "-- migrate:revision bb_function\n"
	  . "-- migrate:message function\n"
	  . "-- migrate:up\n"
	  . "CREATE FUNCTION user_name(i int) RETURNS text LANGUAGE sql AS \$\$\n"
	  . "-- migrate:down\n"
	  . "SELECT name FROM users WHERE id = i\n"
	  . "\$\$;\n"
	  . "-- migrate:down\n"
	  . "DROP FUNCTION user_name(int);\n",
	# byte order: an upper-case name comes before every lower-case one
	'Z_view.sql' => "-- migrate:revision vv_view\n"
	  . "-- migrate:message view\n"
	  . "-- migrate:up\n"
	  . "CREATE VIEW user_emails AS SELECT id, email FROM users;\n"
	  . "-- migrate:down\n"
	  . "DROP VIEW user_emails;\n",
	# no down section: irreversible
	'a_grant.sql' => "-- migrate:revision gg_data\n"
	  . "-- migrate:message data\n"
	  . "-- migrate:up\n"
	  . "INSERT INTO users VALUES (1, 'it''s', 'a\@example.com');\n",
);
write_file("$dir/$_", $files{$_}) for keys %files;

# not migrations: other extensions, and a directory named like a file
write_file("$dir/README.txt", "-- not a migration\nSELECT 1;\n");
write_file("$dir/004_notes.sql.orig", "not SQL at all\n");
write_file("$dir/005_backup.sq", "not SQL at all\n");
mkdir "$dir/x.sql" or die "mkdir: $!";
write_file("$dir/x.sql/006_inner.sql",
	"-- migrate:revision inner_rev\n-- migrate:up\nSELECT 1;\n");

is( query(qq{
		SELECT string_agg(id, ',' ORDER BY n)
		  FROM migrate.add_dir('$dir') WITH ORDINALITY AS f(id, n)}),
	'zz_init,aa_email,mm_index,bb_function,vv_view,gg_data',
	'add_dir returns the ids in file-name (byte) order');
is( query($graph_sql),
	join("\n",
		'aa_email|zz_init||email|f',
		'bb_function|mm_index||function|f',
		'gg_data|vv_view||data|t',
		'mm_index|aa_email||index|f',
		'vv_view|bb_function||view|f',
		'zz_init|||users|f'),
	'all six registered, each on the head left by the file before it');
is( query(q{SELECT string_agg(operation || ' ' || revision, ',' ORDER BY id) FROM migrate.history}),
	'add zz_init,add aa_email,add mm_index,add bb_function,add vv_view,add gg_data',
	'one add history row per file');
is( query(q{SELECT count(DISTINCT operation_id) FROM migrate.history}),
	'1', 'in one operation');
is( query(q{SELECT count(*) FROM migrate.revision WHERE id = 'inner_rev'}),
	'0', 'a directory named x.sql is not read');
is( query(q{
		SELECT to_json(up_sql) || ' ' || to_json(down_sql) FROM migrate.revision WHERE id = 'mm_index'}),
	'"CREATE INDEX users_email ON users (email);" "DROP INDEX users_email;"',
	'the CRLF file is read as LF');
is( query(q{
		SELECT to_json(up_sql) FROM migrate.revision WHERE id = 'bb_function'}),
	'"CREATE FUNCTION user_name(i int) RETURNS text LANGUAGE sql AS $$\n-- migrate:down\nSELECT name FROM users WHERE id = i\n$$;"',
	'a marker line inside a dollar-quoted body is SQL');

my $checksums = query($checksums_sql);
my $counts = query($counts_sql);

# The same directory again: a no-op.
is( query(qq{SELECT string_agg(id, ',' ORDER BY n) FROM migrate.add_dir('$dir') WITH ORDINALITY AS f(id, n)}),
	'zz_init,aa_email,mm_index,bb_function,vv_view,gg_data',
	'a second add_dir returns the same ids');
is(query($counts_sql), $counts, 'and adds no revision and no history row');
is(query($checksums_sql), $checksums, 'and changes no checksum');

# The CRLF file has the checksum of its LF twin (another database, same files).
query('CREATE DATABASE lf');
query('CREATE EXTENSION migrate', 'lf');
query(qq{
	SELECT migrate.add_script(\$f\$$files{'001_init.sql'}\$f\$);
	SELECT migrate.add_script(\$f\$$files{'002_email.sql'}\$f\$);
	SELECT migrate.add_script(E'-- migrate:revision mm_index\\n-- migrate:message index\\n-- migrate:up\\nCREATE INDEX users_email ON users (email);\\n-- migrate:down\\nDROP INDEX users_email;\\n');
}, 'lf');
is( query(q{SELECT checksum FROM migrate.revision WHERE id = 'mm_index'}, 'lf'),
	query(q{SELECT checksum FROM migrate.revision WHERE id = 'mm_index'}),
	'the CRLF file has the checksum of the same file with LF');

# A malformed file: the whole call fails, naming the file; nothing registered.
my $bad = $node->basedir . '/bad';
mkdir $bad or die "mkdir $bad: $!";
write_file("$bad/001_ok.sql",
	"-- migrate:revision ok_new\n-- migrate:up\nCREATE TABLE ok_new (id int);\n");
write_file("$bad/002_broken.sql",
	"-- migrate:revision broken\n-- migrate:message no up section\n\n");
write_file("$bad/003_later.sql",
	"-- migrate:revision later\n-- migrate:up\nSELECT 1;\n");
my $err = query_fails(qq{SELECT * FROM migrate.add_dir('$bad')});
like($err, qr/ERROR:  22023: invalid migration script at line 3: no "-- migrate:up" section/,
	'a malformed file is 22023 with its line number');
like($err, qr/CONTEXT:  migration file "\Q$bad\E\/002_broken.sql"/,
	'the error context names the file');
is(query($counts_sql), $counts, 'nothing of the call is registered');
is(query(q{SELECT count(*) FROM migrate.revision WHERE id IN ('ok_new', 'broken', 'later')}),
	'0', 'not even the file before the malformed one');

# A file with SQL the server's parser refuses: the same, with both contexts.
write_file("$bad/002_broken.sql",
	"-- migrate:revision broken\n-- migrate:up\nSELECT 1;\nCREAT TABLE t (id int);\n");
$err = query_fails(qq{SELECT * FROM migrate.add_dir('$bad')});
like($err, qr/ERROR:  42601: syntax error at or near "CREAT"/, 'a syntax error is 42601');
like($err, qr/up SQL of revision "broken", line 4 of its migration file/,
	'naming the revision and the line of the file');
like($err, qr/migration file "\Q$bad\E\/002_broken.sql"/, 'and the file');
is(query($counts_sql), $counts, 'nothing registered');

# A file that is not valid in the database encoding.
write_file("$bad/002_broken.sql",
	"-- migrate:revision broken\n-- migrate:message caf\xe9\n-- migrate:up\nSELECT 1;\n");
$err = query_fails(qq{SELECT * FROM migrate.add_dir('$bad')});
like($err, qr/ERROR:  22021: invalid byte sequence for encoding "UTF8"/, 'an invalid byte is 22021');
like($err, qr/migration file "\Q$bad\E\/002_broken.sql"/, 'naming the file');
is(query($counts_sql), $counts, 'nothing registered');

# In the caller's transaction: a rollback undoes the whole directory.
write_file("$bad/002_broken.sql",
	"-- migrate:revision broken\n-- migrate:up\nSELECT 2;\n");
is( query(qq{
		BEGIN;
		SELECT string_agg(id, ',' ORDER BY n) FROM migrate.add_dir('$bad') WITH ORDINALITY AS f(id, n);
		ROLLBACK;}),
	'ok_new,broken,later', 'the fixed directory registers in order');
is(query($counts_sql), $counts, 'and a rollback takes all of it back');

# The registered revisions upgrade, in graph order.
is( query(q{SELECT string_agg(revision, ',') FROM migrate.upgrade('head')}),
	'zz_init,aa_email,mm_index,bb_function,vv_view,gg_data',
	'upgrade applies the files\' revisions');
is(query(q{SELECT user_name(1) || ' ' || email FROM user_emails JOIN users USING (id, email)}),
	q{it's a@example.com}, 'their SQL ran');
is(query(q{SELECT count(*) FROM migrate.verify()}), '0', 'verify() finds nothing');
$err = query_fails(q{SELECT * FROM migrate.downgrade('vv_view')});
like($err, qr/ERROR:  55000: .*"gg_data" is irreversible/, 'a file without a down section is irreversible');

# The README: one file with psql's \set and a backtick cat, from a client.
query('CREATE DATABASE readme');
query('CREATE EXTENSION migrate', 'readme');
my ($rc, $out, $stderr) = $node->psql('readme', qq{\\set s `cat $dir/001_init.sql`
SELECT migrate.add_script(:'s');
});
is($rc, 0, 'psql \set s `cat file` then add_script(:\'s\') succeeds');
is($out, 'zz_init', 'and returns the id');

# The README: a directory, in file-name order, in one transaction.  (The
# loop's glob would also hand the directory x.sql to cat: a clean copy.)
my $clean = $node->basedir . '/clean';
mkdir $clean or die "mkdir $clean: $!";
write_file("$clean/$_", $files{$_}) for keys %files;
# The README's text, with the directory and the connection string as
# variables.
my $loop = <<'SH';
{ echo 'BEGIN;'
  for f in "$MIGRATIONS"/*.sql; do
    printf '\\set s `cat %q`\nSELECT migrate.add_script(:%s);\n' "$f" "'s'"
  done
  echo 'COMMIT;'; } | psql -X -v ON_ERROR_STOP=1 -d "$CONNSTR" -f -
SH
my ($loop_out, $loop_err) = ('', '');
{
	local $ENV{CONNSTR} = $node->connstr('readme');
	local $ENV{MIGRATIONS} = $clean;
	IPC::Run::run([ 'bash', '-c', $loop ], '>', \$loop_out, '2>', \$loop_err);
}
is($? >> 8, 0, 'the README shell loop succeeds') or diag($loop_err);
is(query($graph_sql, 'readme'), query($graph_sql),
	'the shell loop registers the graph add_dir registered');
# psql removes the LF of the CRLF that ends the CRLF file: the CR before it
# ends the last line all the same.
is( query(q{SELECT to_json(down_sql) FROM migrate.revision WHERE id = 'mm_index'}, 'readme'),
	'"DROP INDEX users_email;"',
	'the CRLF file through psql keeps no CR at the end of its last section');
is(query($checksums_sql, 'readme'), $checksums,
	'the shell loop gives the checksums add_dir gives, the CRLF file included');

# A file ending in a blank line: psql's backtick drops one trailing newline,
# add_dir reads them all; trailing line ends are not part of the SQL, so both
# ways register the same revision.
my $blank = $node->basedir . '/blank';
mkdir $blank or die "mkdir $blank: $!";
write_file("$blank/001_blank.sql",
	"-- migrate:revision blank_end\n-- migrate:parents base\n-- migrate:up\nCREATE TABLE blank_end (id int);\n-- migrate:down\nDROP TABLE blank_end;\n\n");
query(qq{SELECT * FROM migrate.add_dir('$blank')});
($rc, $out, $stderr) = $node->psql('readme', qq{\\set s `cat $blank/001_blank.sql`
SELECT migrate.add_script(:'s');
});
is($rc, 0, 'a file ending in a blank line registers from psql');
is( query(q{SELECT to_json(down_sql) || ' ' || checksum FROM migrate.revision WHERE id = 'blank_end'}, 'readme'),
	query(q{SELECT to_json(down_sql) || ' ' || checksum FROM migrate.revision WHERE id = 'blank_end'}),
	'a file ending in a blank line: the README\'s psql way and add_dir register the same revision');

$node->stop;
done_testing();
