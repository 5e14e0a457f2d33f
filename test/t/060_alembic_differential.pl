# Differential test against Alembic (issue 15): random revision graphs with
# forks, merges, depends_on and branch labels (also on non-root revisions),
# a random applied set, and targets and ranges of every form.  Each graph is
# registered in migrate (empty SQL) and given to python3-alembic's own
# RevisionMap and ScriptDirectory by t/alembic_oracle.py (no database on
# its side).  For upgrade, downgrade and stamp the applied set after
# migrate.plan() is compared with the one Alembic's steps leave; for ranges,
# the revisions of migrate.revisions('A:B') with those of Alembic's
# history -r A:B.  Where one raises, the other must raise too.
#
# Intentional differences (README, "Targets" and "Semantics") are counted
# and skipped, each with its reason; any other mismatch fails and prints the
# seed, the graph, the applied set and the call, to reproduce it.
# MIGRATE_ALEMBIC_SEED and MIGRATE_ALEMBIC_GRAPHS (default 40, at most 40
# seconds of graphs) reproduce or lengthen a run; MIGRATE_ALEMBIC_SHOW_SKIPPED
# prints the first three cases skipped for each reason.
use strict;
use warnings;

use IPC::Open2;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
plan skip_all => 'python3-alembic is not installed'
  if system("$python -c 'import alembic' 2>/dev/null") != 0;

my $seed = $ENV{MIGRATE_ALEMBIC_SEED} // 20261127;
my $ngraphs = $ENV{MIGRATE_ALEMBIC_GRAPHS} // 40;
note("alembic differential seed $seed, $ngraphs graphs "
	  . "(MIGRATE_ALEMBIC_SEED, MIGRATE_ALEMBIC_GRAPHS)");
srand($seed);

my $node = PostgreSQL::Test::Cluster->new('alembic');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION migrate');
# One call: the applied set after the plan of op to target, or the SQLSTATE.
$node->safe_psql('postgres', q{
CREATE FUNCTION ask(op text, target text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	IF op = 'range' THEN
		SELECT coalesce(string_agg(r, ',' ORDER BY r COLLATE "C"), '')
		  INTO result FROM migrate.revisions(target) AS x(r);
	ELSE
		SELECT coalesce(string_agg(id, ',' ORDER BY id COLLATE "C"), '') INTO result
		  FROM (SELECT revision AS id FROM migrate.applied
				 WHERE revision NOT IN (SELECT p.revision FROM migrate.plan(op, target) p
										 WHERE p.operation IN ('downgrade', 'unstamp'))
				UNION
				SELECT p.revision FROM migrate.plan(op, target) p
				 WHERE p.operation IN ('upgrade', 'stamp')) s;
	END IF;
	RETURN result;
EXCEPTION WHEN OTHERS THEN
	RETURN 'ERROR ' || SQLSTATE;
END $$});

my $oracle_pid = open2(my $from_oracle, my $to_oracle, $python,
	't/alembic_oracle.py');
my $json = JSON::PP->new->canonical;

# A random graph: ids n00.., parents earlier, some merges, depends_on (by id
# or by branch label), labels.
sub random_graph
{
	my $n = 4 + int(rand(7));
	my (@revs, %anc);
	for my $i (0 .. $n - 1)
	{
		my $id = sprintf('n%02d', $i);
		my @parents;
		if ($i > 0 && rand() > 0.2)
		{
			my $p = sprintf('n%02d', int(rand($i)));
			push @parents, $p;
			my $q = sprintf('n%02d', int(rand($i)));
			push @parents, $q
			  if rand() < 0.2 && $q ne $p && !$anc{$p}{$q} && !$anc{$q}{$p};
		}
		my @depends;
		if ($i > 0 && rand() < 0.25)
		{
			my $k = int(rand($i));
			my $d = sprintf('n%02d', $k);
			push @depends, $d
			  unless grep { $_ eq $d || $anc{$_}{$d} } @parents;
		}
		$anc{$id} = { map { ($_ => 1, %{ $anc{$_} }) } @parents, @depends };
		# a depends_on may name the revision's branch label (issue 15, item 8)
		@depends = map {
			my $labels = $revs[ substr($_, 1) ][3];
			@$labels && rand() < 0.5 ? $labels->[0] : $_
		} @depends;
		push @revs, [ $id, \@parents, \@depends, rand() < 0.3 ? ["l$i"] : [] ];
	}
	return \@revs;
}

# Targets and ranges of every form for a graph.
sub random_calls
{
	my ($revs) = @_;
	my @ids = map { $_->[0] } @$revs;
	my @labels = map { @{ $_->[3] } } @$revs;
	my $any = sub { $_[ int(rand(@_)) ] };
	my @targets = ('heads', 'head', 'base', '-1', '+1', '-2', '+2');
	for (1 .. 6)
	{
		my $id = $any->(@ids);
		push @targets, $id, "$id-1", "$id+1";
	}
	for my $l (@labels)
	{
		my ($x, $y) = ($any->(@ids), $any->(@ids));
		push @targets, $l, map { "$l\@$_" }
		  ('head', 'heads', 'base', '-1', '+1', '-2', '+2', 'head-1', 'head-2',
			'base+1', 'base+2', $x, $y, "$x+1", "$y-1");
	}
	my @calls;
	for my $op ('upgrade', 'downgrade', 'stamp')
	{
		push @calls, map { [ $op, $_ ] } @targets;
	}
	for (1 .. 8)
	{
		my ($a, $b) = ($any->(@ids), $any->(@ids));
		push @calls, [ 'range', "$a:$b" ], [ 'range', "$a:" ], [ 'range', ":$b" ];
	}
	push @calls, [ 'range', "$_\@base:heads" ] for @labels;
	# <rev>@...: as for a label, with the branch the revision is on
	for my $r ($any->(@ids), $any->(@ids))
	{
		push @calls, [ 'range', "$r\@base:heads" ],
		  map { my $t = "$r\@$_"; map { [ $_, $t ] } 'upgrade', 'downgrade' }
		  ('head', 'base', '-1', '+1', 'head-1', 'base+1');
	}
	return @calls;
}

# Whether revision $id is an ancestor or a descendant (through parents) of
# the revision labelled $label, or that revision: Alembic's lineage.
sub on_lineage
{
	my ($revs, $label, $id) = @_;
	my ($labelled) = map { $_->[0] } grep { grep { $_ eq $label } @{ $_->[3] } } @$revs;
	$labelled //= $label;		# a revision id used as a label
	my %parents = map { ($_->[0] => $_->[1]) } @$revs;
	my $reaches = sub {
		my ($from, $to) = @_;
		my @todo = ($from);
		my %seen;
		while (defined(my $r = shift @todo))
		{
			return 1 if $r eq $to;
			push @todo, grep { !$seen{$_}++ } @{ $parents{$r} };
		}
		return 0;
	};
	return $reaches->($labelled, $id) || $reaches->($id, $labelled);
}

# Why a mismatch is an intentional difference, or undef.
sub known_difference
{
	my ($op, $target, $mine, $theirs, $revs, $applied) = @_;
	my $relative = $target =~ /[+-]\d+$/;
	my ($label, $rev) = $target =~ /^(\w+)\@(\w+?)(?:[+-]\d+)?$/;
	return 'relative steps from several current heads: migrate refuses them (21000, SPEC), Alembic picks one head'
	  if $relative && $mine eq 'ERROR 21000';
	return 'Alembic 1.8 raises "Ambiguous walk" one step back from a merge; migrate (SPEC, newer Alembic) steps to its parents'
	  if $relative && $theirs =~ /Ambiguous walk/;
	return 'stamp of a relative target: Alembic 1.8 resolves none (it raises, or with nothing applied reads <label>@-N from the graph heads)'
	  if $op eq 'stamp' && $relative && ($theirs =~ /^ERROR/ || $applied eq '');
	return '<label>@<rev> with <rev> off the label\'s lineage: migrate refuses it (42704) as Alembic\'s upgrade and stamp do; Alembic\'s downgrade ignores the label there'
	  if $mine eq 'ERROR 42704' && defined $rev && $rev !~ /^(head|base)$/
	  && !on_lineage($revs, $label, $rev);
	return 'X@base for downgrade and stamp: migrate starts at the root of X\'s branch (SPEC), Alembic at the graph roots below X or at the heads of its lineage'
	  if $target =~ /\@base$/ && $op ne 'range';
	return 'several targets where one needs another through depends_on: Alembic raises "overlaps", migrate applies their closure'
	  if $theirs =~ /overlaps/;
	return 'Alembic fails an internal assertion (history -r X: with X needed through depends_on, or <rev>@base: with rev carrying several labels)'
	  if $op eq 'range' && $theirs =~ /AssertionError/;
	return 'stamp to several revisions: Alembic merges every current head into the first of them, dropping heads on no lineage of the target'
	  if $op eq 'stamp' && $target =~ /heads$/;
	return 'downgrade(\'<label>@head\'): Alembic 1.8 reads it as the head of the whole graph'
	  if $op eq 'downgrade' && $target =~ /\@head$/;
	return 'upgrade to base: migrate refuses it (22023)'
	  if $op eq 'upgrade' && $target eq 'base';
	return 'downgrade to several revisions (heads, <label>@heads): Alembic 1.8 raises (it downgrades to one revision), migrate keeps them all'
	  if $op eq 'downgrade' && $target =~ /heads$/;
	return 'a label whose revision depends on another branch: Alembic labels it through depends_on'
	  if $target =~ /\@/ && $op eq 'range';
	return undef;
}

my ($compared, %skipped, $failed) = (0);

# Applies a random part of the registered graph (each revision picked with
# probability $p, with what it needs) and compares every call in that state.
sub compare_state
{
	my ($g, $revs, $p) = @_;
	my @picked = grep { rand() < $p } map { $_->[0] } @$revs;
	my $sql = "SELECT migrate.stamp('base');\n";
	$sql .= "SELECT migrate.upgrade('$_');\n" for @picked;
	$node->safe_psql('postgres', "SET client_min_messages = warning;\n$sql");
	my $applied = $node->safe_psql('postgres',
		q{SELECT string_agg(revision, ',' ORDER BY revision COLLATE "C") FROM migrate.applied}
	);
	my @applied = split /,/, $applied;
	my @calls = random_calls($revs);
	my $batch = join("\n",
		map { sprintf("SELECT ask(%s, %s);", map { "'$_'" } @$_) } @calls);
	my @mine = split /\n/,
	  $node->safe_psql('postgres', "SET client_min_messages = error;\n$batch");
	for my $k (0 .. $#calls)
	{
		my ($op, $target) = @{ $calls[$k] };
		print $to_oracle $json->encode(
			{ revs => $revs, applied => \@applied, op => $op, target => $target })
		  . "\n";
		my $answer = decode_json(scalar <$from_oracle>);
		my $theirs =
		    defined $answer->{error} ? "ERROR $answer->{error}"
		  : $op eq 'range' ? join(',', sort @{ $answer->{revisions} })
		  : join(',', sort @{ $answer->{applied} });
		my $mine = $mine[$k] // '';
		$compared++;
		next if $mine =~ /^ERROR/ && $theirs =~ /^ERROR/;
		next if $mine eq $theirs;
		my $reason = known_difference($op, $target, $mine, $theirs, $revs, $applied);
		if (defined $reason)
		{
			$skipped{$reason}++;
			diag("skipped, $reason: graph $g: $op('$target') with applied {$applied}: "
				  . "migrate $mine, Alembic $theirs\ngraph: " . $json->encode($revs))
			  if $ENV{MIGRATE_ALEMBIC_SHOW_SKIPPED} && $skipped{$reason} <= 3;
			next;
		}
		$failed++;
		diag("seed $seed, graph $g: $op('$target') with applied {$applied}: "
			  . "migrate $mine, Alembic $theirs\ngraph: "
			  . $json->encode($revs))
		  if $failed <= 10;
	}
	return;
}

my $started = time;
for my $g (1 .. $ngraphs)
{
	last if time - $started > 40;
	my $revs = random_graph();
	my $sql = "DROP EXTENSION migrate;\nCREATE EXTENSION migrate;\n";
	for my $r (@$revs)
	{
		my ($id, $parents, $depends, $labels) = @$r;
		$sql .= sprintf("SELECT migrate.add('%s', '', '', parents => '{%s}', "
			  . "depends_on => '{%s}', branch_labels => '{%s}');\n",
			$id, @$parents ? join(',', @$parents) : 'base',
			join(',', @$depends), join(',', @$labels));
	}
	$node->safe_psql('postgres', "SET client_min_messages = warning;\n$sql");
	# several applied states of each graph, from little to much
	compare_state($g, $revs, $_ / 4) for 1 .. 3;
}
close $to_oracle;
waitpid($oracle_pid, 0);

note("$compared calls compared");
note("skipped ($skipped{$_}): $_") for sort keys %skipped;
is($failed // 0, 0, "migrate answers as Alembic does (seed $seed)");
$node->stop;
done_testing();
