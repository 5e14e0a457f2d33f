# MigrateTest: helpers shared by migrate's TAP tests.
package MigrateTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(start_client finish_client);

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

1;
