# MigrateTest: helpers shared by migrate's TAP tests.
package MigrateTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT =
  qw(start_client finish_client add_table_chain deploy_dropping_invalid_index $LOCK_WAITERS_SQL
  $FLYWAY_HISTORY_DDL run_pg_migrate write_file);

# Runs pg_migrate with the given arguments, stdin empty; returns (exit
# status, stdout, stderr).
sub run_pg_migrate
{
	my @cmd = ('pg_migrate', @_);
	my ($out, $err) = ('', '');
	print("# Running: @cmd\n");
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# Writes a file byte for byte.
sub write_file
{
	my ($path, $content) = @_;
	open my $fh, '>', $path or die "could not write $path: $!";
	binmode $fh;
	print $fh $content;
	close $fh or die "could not close $path: $!";
	return;
}

# Starts psql on $node running the given statements (one -c each) in the
# background, with application_name $name; returns a client handle.
sub start_client
{
	my ($node, $name, @sql) = @_;
	my %c = (name => $name, out => '', err => '');
	my @cmd = (
		'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d',
		$node->connstr('postgres') . " application_name=$name",
		map { ('-c', $_) } @sql);
	$c{h} = IPC::Run::start(\@cmd, '<', \undef, '>', \$c{out}, '2>', \$c{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return \%c;
}

# Waits for a client to exit; returns its exit status.
sub finish_client
{
	my ($c) = @_;
	$c->{h}->finish;
	chomp $c->{out};
	return $c->{h}->result(0);
}

# Counts the sessions waiting for the deploy lock.
our $LOCK_WAITERS_SQL = q{
	SELECT count(*) FROM pg_locks
	 WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
	   AND ((classid::bigint << 32) | objid::bigint) = migrate.lock_key()};

# Flyway's schema history table, as Flyway 9 and 10 create it on PostgreSQL.
our $FLYWAY_HISTORY_DDL = <<'SQL';
CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");
SQL

# Registers a linear chain of $n revisions r0001..rNNNN on $node's postgres
# database, each creating and dropping table <prefix>_NNNN.
sub add_table_chain
{
	my ($node, $n, $prefix) = @_;
	$node->safe_psql('postgres', qq{
	DO \$\$
	BEGIN
		FOR i IN 1..$n LOOP
			PERFORM migrate.add(format('r%s', lpad(i::text, 4, '0')),
				up => format('CREATE TABLE ${prefix}_%s (id int)', lpad(i::text, 4, '0')),
				down => format('DROP TABLE ${prefix}_%s', lpad(i::text, 4, '0')));
		END LOOP;
	END
	\$\$;
});
	return;
}

# After a build of $index by revision $rev failed or was killed: CALL
# migrate.deploy($rev) on $node succeeds, dropping the invalid index first
# (two assertions).
sub deploy_dropping_invalid_index
{
	my ($node, $rev, $index) = @_;
	my ($rc, $stdout, $stderr) = $node->psql('postgres', "CALL migrate.deploy('$rev')");
	is($rc, 0, "the next deploy of $rev succeeds");
	like($stderr,
		qr/NOTICE:  dropping invalid index public\.$index, left by an earlier attempt of revision "$rev"/,
		"dropping the invalid index $index first");
	return;
}

1;
