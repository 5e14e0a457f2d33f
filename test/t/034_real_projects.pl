# Real projects moving in, end to end (issue 14; README "Targets",
# "Semantics", "Migration files" and "Moving from Alembic, Flyway, Sqitch,
# golang-migrate, dbmate").  A project's migrations shaped like lemmy's
# diesel migrations and mattermost's golang-migrate pairs: ids with "-",
# tables, indexes, an index built concurrently, an enum value added and then
# used (a revision marked "-- migrate:transactional false"), functions with
# $$ bodies, a trigger, views, comments, and up and down SQL.  Converted to
# migrate files:
#  A. add_dir() and CALL migrate.deploy() give, pg_dump for pg_dump, the
#     schema that psql gives running the files' up sections in order (B).
#  Release 2 amends an applied file (a comment line, whitespace), turns
#     another into a no-op (refused with 42710 until migrate.repair()), and
#     adds three files: they deploy, and A and B still agree.  Targets with
#     "-", a downgrade past the base; CALL migrate.revert('base') runs every
#     down section back to an empty schema.
#  C. A database that Alembic brought to release 1 adopts its state and
#     deploys release 2's new files: the schema of A.
#  D. A database that Flyway brought to release 1 (its V files, its schema
#     history as Flyway fills it) adopts its state.
use strict;
use warnings;

use Compress::Zlib qw(crc32);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib $FindBin::RealBin;
use MigrateTest;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
# the history rows compared here predate drift, which test/t/090_drift.pl tests
$node->append_conf('postgresql.conf', 'migrate.track_drift = off');
$node->start;
my $t0 = time;

sub query
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql);
}

# Runs SQL that must fail; returns its error as "ERROR:  SQLSTATE: ...",
# then the DETAIL, HINT and CONTEXT lines (psql's prefix and the LOCATION
# line removed).
sub query_error
{
	my ($db, $sql) = @_;
	my ($rc, $out, $err) =
	  $node->psql($db, $sql, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return "succeeded: $out" if $rc == 0;
	$err =~ s/^psql:[^:]*:\d+: //mg;
	$err =~ s/^LOCATION: .*(?:\n|\z)//mg;
	chomp $err;
	return $err;
}

# A SQL string literal (standard_conforming_strings is on).
sub literal
{
	my ($text) = @_;
	$text =~ s/'/''/g;
	return "'$text'";
}

# The project's migrations, as their authors wrote them: up and down SQL.
# The first ten come from its diesel days (lemmy's ids: date, time, name),
# the others are golang-migrate pairs (mattermost's ids: number, name).
my $post_view = <<'SQL';
create view post_view as
select
  p.id,
  p.name,
  p.url,
  p.body,
  p.creator_id,
  p.community_id,
  p.published,
  p.updated,
  u.name as creator_name,
  c.name as community_name,
  (select count(*) from comment where comment.post_id = p.id) as number_of_comments,
  coalesce(sum(pl.score), 0) as score,
  hot_rank(coalesce(sum(pl.score), 0), p.published) as hot_rank
from post p
left join post_like pl on p.id = pl.post_id
join user_ u on u.id = p.creator_id
join community c on c.id = p.community_id
group by p.id, u.name, c.name;
SQL
(my $post_view_status = $post_view) =~ s/^create view/CREATE OR REPLACE VIEW/;
$post_view_status =~ s/(as hot_rank)\n/$1,\n  p.status\n/ or die;

my @release1 = (
	{
		id => '2019-02-26-002946_create_user',
		up => <<'UP', down => <<'DOWN' },
create table user_ (
  id serial primary key,
  name varchar(20) not null,
  password_encrypted text not null,
  email text unique,
  admin boolean default false not null,
  banned boolean default false not null,
  published timestamp not null default now(),
  updated timestamp,
  unique(name)
);
UP
drop table user_;
DOWN
	{
		id => '2019-02-27-170003_create_community',
		up => <<'UP', down => <<'DOWN' },
create table category (
  id serial primary key,
  name varchar(100) not null unique
);

insert into category (name) values ('Discussion'), ('Humor/Memes');

create table community (
  id serial primary key,
  name varchar(20) not null unique,
  title varchar(100) not null,
  description text,
  category_id int references category on update cascade on delete cascade not null,
  creator_id int references user_ on update cascade on delete cascade not null,
  published timestamp not null default now(),
  updated timestamp
);

create table community_follower (
  id serial primary key,
  community_id int references community on update cascade on delete cascade not null,
  user_id int references user_ on update cascade on delete cascade not null,
  published timestamp not null default now(),
  unique(community_id, user_id)
);
UP
drop table community_follower;
drop table community;
drop table category;
DOWN
	{
		id => '2019-03-03-163336_create_post',
		up => <<'UP', down => <<'DOWN' },
create table post (
  id serial primary key,
  name varchar(100) not null,
  url text, -- These are both optional, a post can just have a title
  body text,
  creator_id int references user_ on update cascade on delete cascade not null,
  community_id int references community on update cascade on delete cascade not null,
  published timestamp not null default now(),
  updated timestamp
);

create table post_like (
  id serial primary key,
  post_id int references post on update cascade on delete cascade not null,
  user_id int references user_ on update cascade on delete cascade not null,
  score smallint not null, -- -1, or 1 for dislike, like, no row for no opinion
  published timestamp not null default now(),
  unique(post_id, user_id)
);
UP
drop table post_like;
drop table post;
DOWN
	{
		id => '2019-03-05-233828_create_comment',
		up => <<'UP', down => <<'DOWN' },
create table comment (
  id serial primary key,
  creator_id int references user_ on update cascade on delete cascade not null,
  post_id int references post on update cascade on delete cascade not null,
  parent_id int references comment on update cascade on delete cascade,
  content text not null,
  removed boolean default false,
  published timestamp not null default now(),
  updated timestamp
);

create table comment_like (
  id serial primary key,
  user_id int references user_ on update cascade on delete cascade not null,
  comment_id int references comment on update cascade on delete cascade not null,
  post_id int references post on update cascade on delete cascade not null,
  score smallint not null, -- -1, or 1 for dislike, like, no row for no opinion
  published timestamp not null default now(),
  unique(comment_id, user_id)
);
UP
drop table comment_like;
drop table comment;
DOWN
	{
		id => '2019-03-30-212058_create_post_view',
		up => <<'UP' . $post_view, down => <<'DOWN' },
-- the order of posts on the front page
create or replace function hot_rank(
  score numeric,
  published timestamp without time zone)
returns integer as $$
begin
  -- hours_diff:=EXTRACT(EPOCH FROM (timezone('utc',now()) - published))/3600
  return floor(10000*log(greatest(1,score+3)) / power(((EXTRACT(EPOCH FROM (timezone('utc',now()) - published))/3600) + 2), 1.8))::integer;
end; $$
LANGUAGE plpgsql;

UP
drop view post_view;
drop function hot_rank;
DOWN
	{
		id => '2019-04-03-155205_create_community_view',
		up => <<'UP', down => <<'DOWN' },
create view community_view as
select *,
(select name from user_ u where c.creator_id = u.id) as creator_name,
(select name from category ct where c.category_id = ct.id) as category_name,
(select count(*) from community_follower cf where cf.community_id = c.id) as number_of_subscribers,
(select count(*) from post p where p.community_id = c.id) as number_of_posts
from community c;
UP
drop view community_view;
DOWN
	{
		id => '2019-04-07-003142_create_moderation_logs',
		up => <<'UP', down => <<'DOWN' },
create table mod_remove_post (
  id serial primary key,
  mod_user_id int references user_ on update cascade on delete cascade not null,
  post_id int references post on update cascade on delete cascade not null,
  reason text,
  removed boolean default true,
  when_ timestamp not null default now()
);

create table mod_ban (
  id serial primary key,
  mod_user_id int references user_ on update cascade on delete cascade not null,
  other_user_id int references user_ on update cascade on delete cascade not null,
  reason text,
  banned boolean default true,
  expires timestamp,
  when_ timestamp not null default now()
);
UP
drop table mod_remove_post;
drop table mod_ban;
DOWN
	{
		id => '2019-04-08-015947_create_user_view',
		up => <<'UP', down => <<'DOWN' },
create view user_view as
select id,
name,
admin,
banned,
published,
(select count(*) from post p where p.creator_id = u.id) as number_of_posts,
(select coalesce(sum(score), 0) from post p, post_like pl where u.id = p.creator_id and p.id = pl.post_id) as post_score,
(select count(*) from comment c where c.creator_id = u.id) as number_of_comments
from user_ u;
UP
drop view user_view;
DOWN
	{
		id => '2019-05-02-051656_add_foreign_key_indexes',
		up => <<'UP', down => <<'DOWN' },
create index idx_post_creator on post (creator_id);
create index idx_post_community on post (community_id);
create index idx_comment_post on comment (post_id);
create index idx_post_like_post on post_like (post_id);
UP
drop index idx_post_creator, idx_post_community, idx_comment_post, idx_post_like_post;
DOWN
	{
		id => '2019-08-29-040006_add_post_status',
		up => <<'UP', down => <<'DOWN' },
create type post_status as enum ('draft', 'published');

alter table post add column status post_status not null default 'published';

comment on type post_status is 'Where a post is in its life: a draft is seen by its author only.';
UP
alter table post drop column status;
drop type post_status;
DOWN
	{
		id => '000081_create-channels',
		up => <<'UP', down => <<'DOWN' },
CREATE TABLE IF NOT EXISTS channels (
    id VARCHAR(26) PRIMARY KEY,
    createat bigint,
    updateat bigint,
    deleteat bigint,
    teamid VARCHAR(26),
    type VARCHAR(1),
    displayname VARCHAR(64),
    name VARCHAR(64),
    header VARCHAR(1024),
    purpose VARCHAR(250),
    UNIQUE(name, teamid)
);

CREATE INDEX IF NOT EXISTS idx_channels_team_id ON channels (teamid);
CREATE INDEX IF NOT EXISTS idx_channels_update_at ON channels (updateat);

COMMENT ON TABLE channels IS 'Chat channels: one row per channel of a team.';
COMMENT ON COLUMN channels.type IS 'O open, P private, D direct, G group.';
UP
DROP TABLE IF EXISTS channels;
DOWN
	{
		id => '000082_create-reactions',
		up => <<'UP', down => <<'DOWN' },
CREATE TABLE IF NOT EXISTS reactions (
    userid VARCHAR(26) NOT NULL,
    postid VARCHAR(26) NOT NULL,
    emojiname VARCHAR(64) NOT NULL,
    createat bigint,
    PRIMARY KEY (postid, userid, emojiname)
);
UP
DROP TABLE IF EXISTS reactions;
DOWN
	# a new enum value, used by the next statement: it must be committed
	# first, so each statement in a transaction of its own
	{
		id => '000083_add-archived-status',
		nontransactional => 1,
		up => <<'UP', down => <<'DOWN' },
ALTER TYPE post_status ADD VALUE IF NOT EXISTS 'archived';
CREATE INDEX IF NOT EXISTS idx_post_archived ON post (community_id) WHERE status = 'archived';
UP
-- PostgreSQL cannot remove a value from an enum: 'archived' stays.
DROP INDEX IF EXISTS idx_post_archived;
DOWN
	{
		id => '000084_create-post-name-index',
		up => <<'UP', down => <<'DOWN' },
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_post_name_lower ON post (lower(name));
UP
DROP INDEX CONCURRENTLY IF EXISTS idx_post_name_lower;
DOWN
	{
		id => '000085_backfill-channel-type',
		up => <<'UP', down => <<'DOWN' },
UPDATE channels SET type = 'O' WHERE type IS NULL OR type = '';
UP
-- The backfill is kept: no channel goes back to having no type.
DOWN
	{
		id => '000086_create-channelmembers',
		up => <<'UP', down => <<'DOWN' },
CREATE TABLE IF NOT EXISTS channelmembers (
    channelid VARCHAR(26) NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    userid VARCHAR(26) NOT NULL,
    roles VARCHAR(64),
    lastviewedat bigint,
    msgcount bigint,
    mentioncount bigint,
    notifyprops jsonb,
    PRIMARY KEY (channelid, userid)
);

CREATE INDEX IF NOT EXISTS idx_channelmembers_user_id ON channelmembers (userid);
UP
DROP TABLE IF EXISTS channelmembers;
DOWN
	{
		id => '000087_channel-member-count-function',
		up => <<'UP', down => <<'DOWN' },
CREATE OR REPLACE FUNCTION channel_member_count(channel varchar) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
        SELECT count(*) FROM channelmembers WHERE channelid = channel
    $$;
UP
DROP FUNCTION IF EXISTS channel_member_count(varchar);
DOWN
	{
		id => '000088_create-channel-stats-view',
		up => <<'UP', down => <<'DOWN' },
CREATE OR REPLACE VIEW channel_stats AS
    SELECT c.id, c.name, c.teamid, channel_member_count(c.id) AS members
      FROM channels c
     WHERE c.deleteat = 0;

COMMENT ON VIEW channel_stats IS 'Channels that are not deleted, with their member counts.';
UP
DROP VIEW IF EXISTS channel_stats;
DOWN
	{
		id => '000089_add-channelid-to-reaction',
		up => <<'UP', down => <<'DOWN' },
ALTER TABLE reactions ADD COLUMN IF NOT EXISTS channelid varchar(26) NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS idx_reactions_channel_id ON reactions(channelid);
UP
DROP INDEX IF EXISTS idx_reactions_channel_id;
ALTER TABLE reactions DROP COLUMN IF EXISTS channelid;
DOWN
	{
		id => '000090_trigger-channel-updateat',
		up => <<'UP', down => <<'DOWN' },
CREATE OR REPLACE FUNCTION channels_set_updateat() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- milliseconds since the epoch, as the server writes them
    NEW.updateat := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    RETURN NEW;
END
$$;

CREATE TRIGGER channels_updateat BEFORE UPDATE ON channels
    FOR EACH ROW EXECUTE FUNCTION channels_set_updateat();
UP
DROP TRIGGER IF EXISTS channels_updateat ON channels;
DROP FUNCTION IF EXISTS channels_set_updateat();
DOWN
);

# Release 2: 000089 amended by its authors (a comment line in both files,
# whitespace), 000085 turned into a no-op (its backfill took hours on large
# installations), and three new migrations.
my %release2_changed = (
	'000089_add-channelid-to-reaction' => {
		up => <<'UP', down => <<'DOWN' },
-- Reactions are looked up by channel when a channel is archived.
ALTER TABLE reactions
    ADD COLUMN IF NOT EXISTS channelid varchar(26) NOT NULL DEFAULT '';

CREATE INDEX IF NOT EXISTS idx_reactions_channel_id ON reactions (channelid);
UP
-- Reactions are looked up by channel when a channel is archived.
DROP INDEX IF EXISTS idx_reactions_channel_id;
ALTER TABLE reactions  DROP COLUMN IF EXISTS channelid;
DOWN
	'000085_backfill-channel-type' => {
		up => <<'UP', down => <<'DOWN' },
-- This migration is a no-op: the backfill took hours on large installations.
-- The server gives a channel without a type the type 'O' when it starts.
UP
-- The backfill is kept: no channel goes back to having no type.
DOWN
);
my @release2_new = (
	{
		id => '000091_create-drafts',
		up => <<'UP', down => <<'DOWN' },
CREATE TABLE IF NOT EXISTS drafts (
    createat bigint,
    updateat bigint,
    deleteat bigint,
    userid VARCHAR(26) NOT NULL,
    channelid VARCHAR(26) NOT NULL,
    rootid VARCHAR(26) DEFAULT '',
    message VARCHAR(65535),
    props VARCHAR(8000),
    fileids VARCHAR(300),
    PRIMARY KEY (userid, channelid, rootid)
);
UP
DROP TABLE IF EXISTS drafts;
DOWN
	{
		id => '000092_add-bio-to-users',
		up => <<'UP', down => <<'DOWN' },
ALTER TABLE user_ ADD COLUMN IF NOT EXISTS bio text;
COMMENT ON COLUMN user_.bio IS 'Markdown, shown on the profile page.';
UP
ALTER TABLE user_ DROP COLUMN IF EXISTS bio;
DOWN
	{
		id => '000093_add-status-to-post-view',
		up => $post_view_status,
		down => "DROP VIEW post_view;\n" . $post_view
	},
);
my @release2 = (
	(map { $release2_changed{ $_->{id} } ? { %$_, %{ $release2_changed{ $_->{id} } } } : $_ } @release1),
	@release2_new);
my @ids1 = map { $_->{id} } @release1;
my @ids2 = map { $_->{id} } @release2;
my $nt1 = @release1;
my $nt2 = @release2;

# A migration converted to a migrate file (README, "From golang-migrate"):
# the id, the previous migration as the parent, then the up and the down
# file as sections.
sub migrate_file
{
	my ($m, $parent) = @_;
	my $text = "-- migrate:revision $m->{id}\n-- migrate:parents $parent\n";
	$text .= "-- migrate:transactional false\n" if $m->{nontransactional};
	return $text . "-- migrate:up\n$m->{up}-- migrate:down\n$m->{down}";
}

# Writes the converted files of @migrations into a new directory under the
# node's base directory (the server runs as the same OS user and reads it),
# numbered so that add_dir() reads them in the project's order; returns the
# directory and the paths, in order.  (Every file this test writes is new,
# in a new directory: PostgreSQL::Test::Utils' append_to_file creates it.)
sub write_project
{
	my ($name, @migrations) = @_;
	my $dir = $node->basedir . "/$name";
	mkdir $dir or die "mkdir $dir: $!";
	my ($parent, @paths) = ('base');
	for my $i (0 .. $#migrations)
	{
		my $path = sprintf('%s/%04d_%s.sql', $dir, $i + 1, $migrations[$i]{id});
		append_to_file($path, migrate_file($migrations[$i], $parent));
		push @paths, $path;
		$parent = $migrations[$i]{id};
	}
	return ($dir, @paths);
}

# A section of a migration file, read back from the file: the lines after
# its marker line, up to the next marker line or the end.
sub section
{
	my ($path, $name) = @_;
	my $text = slurp_file($path);
	$text =~ /^-- migrate:\Q$name\E\n(.*?)(?=^-- migrate:|\z)/ms
	  or die "no $name section in $path";
	return $1;
}

# psql -X -v ON_ERROR_STOP=1 runs the up sections of @paths, in order, one
# -f each, autocommitting each statement as psql does (no -1).
sub psql_up_sections
{
	my ($db, $name, @paths) = @_;
	my $dir = $node->basedir . "/up_$name";
	mkdir $dir or die "mkdir $dir: $!";
	my @args;
	for my $path (@paths)
	{
		my $up = "$dir/" . ($path =~ s{.*/}{}r);
		append_to_file($up, section($path, 'up'));
		push @args, '-f', $up;
	}
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), @args ],
		"psql runs the " . @paths . " up sections of $name on $db");
	return;
}

# What pg_dump writes for the extension itself.  Schema migrate and its
# objects are members of the extension, which pg_dump never dumps one by one
# (--exclude-schema=migrate leaves them out again); but pg_dump dumps every
# extension unless -n, -t or -e narrow the dump, so two entries remain: the
# extension (it lives in pg_catalog, migrate.control, and creates schema
# migrate itself) and its comment, each under its "-- Name:" header.
my $extension_entries = <<'DUMP';
--
-- Name: migrate; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS migrate WITH SCHEMA pg_catalog;


--
-- Name: EXTENSION migrate; Type: COMMENT; Schema: -; Owner: 
--

COMMENT ON EXTENSION migrate IS 'revision graph, deploys and audit history for schema migrations';


DUMP

# pg_dump --schema-only --exclude-schema=migrate of $db (and without table
# $exclude, another tool's), less exactly this: the \restrict and
# \unrestrict lines, which carry a random key in each dump (15.14 on), and
# in a database with the extension its two entries above, which must be
# there, once.
sub schema_of
{
	my ($db, $exclude) = @_;
	my ($out, $err);
	IPC::Run::run [
		'pg_dump', '--schema-only', '--exclude-schema=migrate',
		$exclude ? ('-T', $exclude) : (),
		'-d', $node->connstr($db) ], '>', \$out, '2>', \$err
	  or die "pg_dump $db failed: $err";
	$out =~ s/^\\restrict [A-Za-z0-9]+\n//m or die "no \\restrict line in the dump of $db";
	$out =~ s/^\\unrestrict [A-Za-z0-9]+\n//m or die "no \\unrestrict line in the dump of $db";
	if (query($db, q{SELECT count(*) FROM pg_extension WHERE extname = 'migrate'}) eq '1')
	{
		my $n = () = $out =~ /\Q$extension_entries\E/g;
		die "the extension's entries are in the dump of $db $n times:\n$out" if $n != 1;
		$out =~ s/\Q$extension_entries\E//;
	}
	die "the dump of $db names migrate:\n$out" if $out =~ /migrate/;
	return $out;
}

# The objects of a dump, counted by kind: "CREATE TABLE 3, ..."
sub dump_counts
{
	my ($dump) = @_;
	my %n;
	$n{$1}++ while $dump =~ /^(CREATE (?:TABLE|SEQUENCE|INDEX|VIEW|FUNCTION|TYPE|TRIGGER)|COMMENT ON \w+)\b/mg;
	return join(', ', map { "$_ $n{$_}" } sort keys %n);
}

my $verify_sql = q{SELECT count(*) FROM migrate.verify()};
my $history_sql = q{
	SELECT coalesce(string_agg(operation || ' ' || revision, ',' ORDER BY id), '')
	  FROM migrate.history WHERE id > %d};
my $last_row_sql = q{SELECT coalesce(max(id), 0) FROM migrate.history};

# ------------------------------------------------------------ release 1
my ($dir1, @files1) = write_project('release1', @release1);
query('postgres', 'CREATE DATABASE a');
query('postgres', 'CREATE DATABASE b');
query('a', 'CREATE EXTENSION migrate');

is( query('a', qq{SELECT string_agg(id, ',' ORDER BY n) FROM migrate.add_dir('$dir1') WITH ORDINALITY AS f(id, n)}),
	join(',', @ids1), "add_dir() registers the $nt1 files, ids with \"-\", in order");
is( query('a', q{SELECT string_agg(revision, ',' ORDER BY revision COLLATE "C") FROM migrate.revisions()
				  WHERE NOT is_transactional}),
	'000083_add-archived-status,000084_create-post-name-index',
	'two are non-transactional: the one marked so and the concurrent index build');
query('a', 'CALL migrate.deploy()');
is( query('a', q{SELECT string_agg(revision, ',' ORDER BY id) FROM migrate.history WHERE operation = 'upgrade'}),
	join(',', @ids1), 'CALL migrate.deploy() applies them in order');
is( query('a', q{SELECT string_agg(format('%s %s', revision, detail), E'\n' ORDER BY id)
				  FROM migrate.history WHERE operation = 'upgrade' AND detail IS NOT NULL}),
	join("\n",
		'000083_add-archived-status {"committed": 2, "statements": 2, "transactional": false}',
		'000084_create-post-name-index {"committed": 1, "statements": 1, "transactional": false}'),
	'the non-transactional ones statement by statement');
is(query('a', $verify_sql), '0', 'verify() is empty');
is(query('a', 'SELECT migrate.check()'), '', 'check() passes');

psql_up_sections('b', 'release1', @files1);
my $dump_a = schema_of('a');
is( dump_counts($dump_a),
	'COMMENT ON COLUMN 1, COMMENT ON TABLE 1, COMMENT ON TYPE 1, COMMENT ON VIEW 1, '
	  . 'CREATE FUNCTION 3, CREATE INDEX 10, CREATE SEQUENCE 10, CREATE TABLE 13, '
	  . 'CREATE TRIGGER 1, CREATE TYPE 1, CREATE VIEW 4',
	'the schema of A has what the migrations create');
is($dump_a, schema_of('b'), 'A has the schema that psql gave B, pg_dump for pg_dump');

# ------------------------------------------------------------ release 2
my ($dir2, @files2) = write_project('release2', @release2);
my %file2 = map { $ids2[$_] => $files2[$_] } 0 .. $#ids2;
my $noop = '000085_backfill-channel-type';
my $amended = '000089_add-channelid-to-reaction';
my $checksum_sql = q{SELECT checksum FROM migrate.revision WHERE id = '%s'};
my $noop_old = query('a', sprintf($checksum_sql, $noop));
my $amended_old = query('a', sprintf($checksum_sql, $amended));
my $counts_sql = q{SELECT (SELECT count(*) FROM migrate.revision) || ' revisions, '
	|| (SELECT count(*) FROM migrate.history) || ' history rows'};
my $counts = query('a', $counts_sql);

# The no-op: its statements changed, so add_dir() refuses the directory.
my $refusal = query_error('a', qq{SELECT count(*) FROM migrate.add_dir('$dir2')});
is(query('a', $counts_sql), $counts, 'the refused directory registers nothing');

# repair() with the file's new sections: nothing runs.
my $last = query('a', $last_row_sql);
my $noop_new = query('a', sprintf('SELECT migrate.repair(%s, %s, %s)', literal($noop),
	literal(section($file2{$noop}, 'up')), literal(section($file2{$noop}, 'down'))));
is( $refusal,
	join("\n",
		qq{ERROR:  42710: revision "$noop" is applied and cannot be replaced},
		qq{DETAIL:  Its stored checksum is $noop_old; the new content has checksum $noop_new, and its statements differ.},
		qq{HINT:  Add a new revision for the change, or downgrade below "$noop" first. A change of comments and whitespace alone is accepted as an amendment; migrate.repair() replaces an applied revision's SQL without running it.},
		qq{CONTEXT:  migration file "$file2{$noop}"}),
	'the no-op file is refused with 42710, naming amendments and repair(), with the checksum repair() stores');
is( query('a', sprintf($history_sql, $last) . q{ AND detail ->> 'old_checksum' = }
		. literal($noop_old) . q{ AND detail ->> 'new_checksum' = } . literal($noop_new)),
	"repair $noop", 'repair() writes one history row repair with both checksums');
is(query('a', $verify_sql), '0', 'verify() is empty after the repair');

# Now release 2 registers: the amended file is an amendment, the repaired one
# the same revision, the new files new.
$last = query('a', $last_row_sql);
is( query('a', qq{SELECT string_agg(id, ',' ORDER BY n) FROM migrate.add_dir('$dir2') WITH ORDINALITY AS f(id, n)}),
	join(',', @ids2), "add_dir() of release 2 reads its $nt2 files");
is( query('a', sprintf($history_sql, $last)),
	join(',', "amend $amended", map { "add $_->{id}" } @release2_new),
	'one amend row, no row for the repaired file, an add row per new file; nothing runs');
my $amended_new = query('a', sprintf($checksum_sql, $amended));
is( query('a', qq{SELECT format('%s %s %s', h.checksum = r.checksum, h.detail ->> 'old_checksum', a.checksum = r.checksum)
				   FROM migrate.history h JOIN migrate.revision r ON r.id = h.revision
				   JOIN migrate.applied a ON a.revision = r.id
				  WHERE h.operation = 'amend'}),
	"t $amended_old t", 'the amend row has the old and the new checksum, the applied row the new one');
is( query('a', sprintf('SELECT up_sql = %s FROM migrate.revision WHERE id = %s',
	literal(section($file2{$amended}, 'up') =~ s/\n+\z//r), literal($amended))),
	't', 'the amended text is stored');
isnt($amended_new, $amended_old, 'with a new checksum');
is(query('a', $verify_sql), '0', 'verify() is empty after the amendment');
is(schema_of('a'), $dump_a, 'the schema is unchanged');
$last = query('a', $last_row_sql);
query('a', qq{SELECT count(*) FROM migrate.add_dir('$dir2')});
is(query('a', sprintf($history_sql, $last)), '', 'add_dir() of release 2 again is a no-op');

query('a', 'CALL migrate.deploy()');
is( query('a', sprintf($history_sql, $last)),
	join(',', map { "upgrade $_->{id}" } @release2_new), 'the new files of release 2 deploy');
is(query('a', $verify_sql), '0', 'verify() is empty');
is(query('a', 'SELECT migrate.check()'), '', 'check() passes');
psql_up_sections('b', 'release2', @files2[ $nt1 .. $#files2 ]);
my $dump_a2 = schema_of('a');
is($dump_a2, schema_of('b'), 'A and B still have the same schema');

# ------------------------------------------------------------ targets
# (README, Targets: an id or label equal to the text wins, then a prefix,
# and only then a final "-N" is a step back.)
$last = query('a', $last_row_sql);
is( query_error('a', q{CALL migrate.revert('-99')}),
	join("\n",
		'ERROR:  42704: target "-99" does not exist',
		"DETAIL:  It goes 99 steps back, but base is only $nt2 steps back.",
		"HINT:  Go back at most $nt2, or to \"base\"."),
	'a downgrade past the base says how far back the base is');
is(query('a', sprintf($history_sql, $last)), '', 'and does nothing');
my $plan_sql = q{SELECT string_agg(revision, ',' ORDER BY step) FROM migrate.plan('downgrade', %s)};
is( query('a', sprintf($plan_sql, literal($amended))),
	join(',', reverse @ids2[ 19 .. $#ids2 ]), 'a target equal to an id with "-" is that id');
is( query('a', sprintf($plan_sql, literal("$amended-2"))),
	join(',', reverse @ids2[ 17 .. $#ids2 ]), 'that id then "-2" is two steps back from it');
is( query('a', sprintf($plan_sql, q{'2019-02-26-002946_create_user'})),
	join(',', reverse @ids2[ 1 .. $#ids2 ]), 'the root\'s diesel id is that id');
# "2019-05" alone is the unique prefix of 2019-05-02-051656_add_foreign_key_indexes
is( query('a', sprintf($plan_sql, q{'2019-05-02'})),
	join(',', reverse @ids2[ 9 .. $#ids2 ]),
	'a prefix with "-" is that prefix, not "2019-05" two steps back');
is( query('a', sprintf($plan_sql, q{'2019-05-1'})),
	join(',', reverse @ids2[ 8 .. $#ids2 ]),
	'text that starts no id, "2019-05-1", is "2019-05" one step back');

# Every down section, non-transactional ones included, back to nothing.
$last = query('a', $last_row_sql);
query('a', q{CALL migrate.revert('base')});
is( query('a', sprintf($history_sql, $last)),
	join(',', map { "downgrade $_" } reverse @ids2), 'CALL migrate.revert(\'base\') runs every down section');
query('postgres', 'CREATE DATABASE empty');
query('empty', 'CREATE EXTENSION migrate');
is(schema_of('a'), schema_of('empty'), 'and leaves the schema of an empty database');
is(query('a', $verify_sql), '0', 'verify() is empty');

# ------------------------------------------------------------ Alembic
# C: psql ran release 1 as Alembic's SQL would have, and Alembic's version
# table holds its head.
query('postgres', 'CREATE DATABASE c');
psql_up_sections('c', 'alembic', @files1);
query('c', qq{
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('$ids1[-1]');
CREATE EXTENSION migrate;
SELECT count(*) FROM migrate.add_dir('$dir1');});
is(query('c', 'SELECT migrate.adopt_alembic()'), "{$ids1[-1]}", 'adopt_alembic() adopts the head Alembic recorded');
is( query('c', q{SELECT operation || ' ' || count(*) FROM migrate.history GROUP BY operation ORDER BY operation}),
	"add $nt1\nadopt $nt1", 'one adopt row per revision');
is(query('c', 'SELECT migrate.check()'), '', 'check() passes');
is(query('c', $verify_sql), '0', 'verify() is empty');

# The next release's new files, sent by a client with add_script().
$last = query('c', $last_row_sql);
query('c', join('', map { sprintf("SELECT migrate.add_script(%s);\n", literal(slurp_file($file2{ $_->{id} }))) }
	@release2_new) . 'CALL migrate.deploy();');
is( query('c', sprintf($history_sql, $last)),
	join(',', (map { "add $_->{id}" } @release2_new), (map { "upgrade $_->{id}" } @release2_new)),
	'a further release registers and deploys');
is(query('c', 'SELECT migrate.check()'), '', 'check() passes');
is(schema_of('c', 'public.alembic_version'), $dump_a2, 'C has the schema of A');

# ------------------------------------------------------------ Flyway
# D: the same migrations as Flyway's V files (V1__create_user.sql ...;
# 11.1 to 11.10 for the golang-migrate ones, so that byte order is not
# version order).  Flyway's checksum is the CRC-32 of the file's lines
# without their line ends, as a signed int.
my @flyway;
for my $i (0 .. $#release1)
{
	my $m = $release1[$i];
	my $version = $i < 10 ? $i + 1 : '11.' . ($i - 9);
	(my $desc = $m->{id}) =~ s/^[^_]*_//;
	my $script = 'V' . ($version =~ tr/./_/r) . "__$desc.sql";
	my $crc = crc32(join('', split /\n/, $m->{up}));
	push @flyway, {
		%$m,
		version => $version,
		script => $script,
		description => $desc =~ tr/_/ /r,
		checksum => $crc >= 2**31 ? $crc - 2**32 : $crc };
}

# Flyway's run: its schema history table as Flyway creates it, then each
# migration and its row, in one transaction unless it cannot run in one.
my $flyway_sql = $FLYWAY_HISTORY_DDL;
for my $i (0 .. $#flyway)
{
	my $f = $flyway[$i];
	my $tx = !$f->{nontransactional} && $f->{up} !~ /CONCURRENTLY/;
	$flyway_sql .= ($tx ? "BEGIN;\n" : '') . $f->{up}
	  . sprintf(qq{INSERT INTO "public"."flyway_schema_history" ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "execution_time", "success")\nVALUES (%d, '%s', '%s', 'SQL', '%s', %d, 'flyway_user', %d, true);\n},
		$i + 1, $f->{version}, $f->{description}, $f->{script}, $f->{checksum}, 10 + $i)
	  . ($tx ? "COMMIT;\n" : '');
}
my $flyway_file = $node->basedir . '/flyway_migrate.sql';
append_to_file($flyway_file, $flyway_sql);
query('postgres', 'CREATE DATABASE d');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('d'), '-f', $flyway_file ],
	'Flyway brings D to version 11.10');

# Converted as the README's loop converts them: the id is the script's name,
# the description the message, the previous version the parent; no down.
my $flyway_dir = $node->basedir . '/flyway';
mkdir $flyway_dir or die "mkdir $flyway_dir: $!";
my $prev = 'base';
for my $i (0 .. $#flyway)
{
	my $f = $flyway[$i];
	(my $id = $f->{script}) =~ s/\.sql$//;
	append_to_file(sprintf('%s/%04d_%s.sql', $flyway_dir, $i + 1, $id),
		"-- migrate:revision $id\n-- migrate:parents $prev\n-- migrate:message $f->{description}\n"
		  . ($f->{nontransactional} ? "-- migrate:transactional false\n" : '')
		  . "-- migrate:up\n$f->{up}");
	$f->{id} = $id;
	$prev = $id;
}
query('d', qq{CREATE EXTENSION migrate; SELECT count(*) FROM migrate.add_dir('$flyway_dir');});
is( query('d', 'SELECT migrate.adopt_flyway()'),
	'{' . join(',', map { $_->{id} } @flyway) . '}',
	'adopt_flyway() marks applied every version Flyway applied, in version order');
is(query('d', 'SELECT migrate.check()'), '', 'check() passes');
is( query('d', q{SELECT operation || ' ' || count(*) FROM migrate.history GROUP BY operation ORDER BY operation}),
	"add $nt1\nadopt $nt1\nimport $nt1", 'one import row per Flyway row, one adopt row per revision');
is( query('d', q{
		SELECT count(*) FROM migrate.history h JOIN flyway_schema_history f
		    ON (h.detail ->> 'installed_rank')::int = f.installed_rank
		 WHERE h.operation = 'import' AND h.revision || '.sql' = f.script
		   AND h.detail ->> 'version' = f.version AND (h.detail ->> 'checksum')::int = f.checksum
		   AND h.session_role = f.installed_by AND h.duration = f.execution_time * interval '1 ms'
		   AND h.started_at = f.installed_on::timestamptz AND h.success
		   AND h.checksum = (SELECT checksum FROM migrate.revision WHERE id = h.revision)}),
	$nt1, 'each import row has its Flyway row\'s script, version, checksum, who, how long and when');
is(query('d', $verify_sql), '0', 'verify() is empty');
is(schema_of('d', 'public.flyway_schema_history'), $dump_a, 'D has the schema of release 1, as A had');

note(sprintf('%.1f s', time - $t0));
$node->stop;
done_testing();
