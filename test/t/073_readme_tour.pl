# The README's tour of the SQL API, run as a new user would paste it: every
# ```sql block between the heading "## A tour of the SQL API" and the next
# "## " heading, in order, in one psql session with ON_ERROR_STOP against a
# fresh server with the extension available.  A block shown with its output
# (a plain ``` block right after it, only blank lines between) must print
# exactly that output (trailing blanks and blank lines at either end
# aside).  A block that is a migration file (it starts with "-- migrate:"),
# shown to explain the file format, is not psql input and is skipped.  So the
# README cannot rot again.
use strict;
use warnings;

use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# README.md: beside the copy of test/t that test/run makes, or in the tree.
my ($readme) = grep { -f $_ } ("$FindBin::RealBin/../README.md", "$FindBin::RealBin/../../README.md");
BAIL_OUT('README.md not found beside t/ or two levels up') unless defined $readme;
open(my $fh, '<', $readme) or die "$readme: $!";
my @lines = <$fh>;
close($fh);

# The tour's fenced blocks: { lang, text, follows_sql } in order.
my (@blocks, $in_tour, $open, $gap);
for my $line (@lines)
{
	if (!$in_tour)
	{
		$in_tour = 1 if $line =~ /^## A tour of the SQL API\s*$/;
		next;
	}
	if (!defined $open)
	{
		last if $line =~ /^## /;
		if ($line =~ /^```(\w*)\s*$/)
		{
			$open = { lang => $1, text => '', follows_sql => (@blocks && !$gap
					&& $blocks[-1]{lang} eq 'sql') };
			next;
		}
		$gap = 1 if $line =~ /\S/;
		next;
	}
	if ($line =~ /^```\s*$/)
	{
		push @blocks, $open;
		undef $open;
		$gap = 0;
		next;
	}
	$open->{text} .= $line;
}
ok($in_tour, 'the README has the tour');
my @sql = grep { $_->{lang} eq 'sql' && $_->{text} !~ /\A\s*-- migrate:/ } @blocks;
cmp_ok(scalar(@sql), '>=', 3, 'the tour has its SQL blocks');

# The blocks as one psql script, each after a marker line.
my $script = '';
for my $i (0 .. $#sql)
{
	$script .= "\\echo '<<<tour block $i>>>'\n$sql[$i]{text}\n";
}
$script .= "\\echo '<<<tour end>>>'\n";

my $node = PostgreSQL::Test::Cluster->new('tour');
$node->init;
$node->start;
# as the README's user: the superuser "postgres", whatever the OS user is
$node->safe_psql('postgres', q{DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'postgres') THEN
		CREATE ROLE postgres SUPERUSER LOGIN;
	END IF; END $$});
my $file = PostgreSQL::Test::Utils::tempdir() . '/tour.sql';
open(my $sfh, '>', $file) or die "$file: $!";
print $sfh $script;
close($sfh);
my ($out, $err) = ('', '');
IPC::Run::run([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-h', $node->host, '-p', $node->port,
		'-U', 'postgres', '-d', 'postgres', '-f', $file ], '<', \undef, '>', \$out, '2>', \$err);
is($? >> 8, 0, 'the tour runs without an error') or diag($err);
unlike($err, qr/ERROR/, 'no error on stderr');
like($out, qr/<<<tour end>>>\n\z/, 'the tour runs to its end');

# Trailing blanks of each line and blank lines at either end do not count.
sub normalized
{
	my ($text) = @_;
	$text =~ s/[ \t]+$//mg;
	$text =~ s/\A\n+//;
	$text =~ s/\n+\z//;
	return $text;
}

# A block's output: what psql printed between its marker and the next.
my %printed = $out =~ /<<<tour block (\d+)>>>\n(.*?)(?=<<<tour )/sg;
my $compared = 0;
my $k = -1;
my $after_run = 0;				# the block before ran in psql
for my $b (@blocks)
{
	if ($b->{lang} eq 'sql')
	{
		$after_run = $b->{text} !~ /\A\s*-- migrate:/;
		$k++ if $after_run;
		next;
	}
	my $shows_output = $b->{follows_sql} && $after_run && $b->{lang} eq '';
	$after_run = 0;
	next unless $shows_output;
	is(normalized($printed{$k} // ''), normalized($b->{text}), "tour block $k prints what the README shows");
	$compared++;
}
cmp_ok($compared, '>=', 1, 'the tour shows outputs to compare');

$node->stop;
done_testing();
