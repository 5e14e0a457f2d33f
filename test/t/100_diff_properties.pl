# Property tests of the schema diff (issue 19; README "Autogenerate"):
# migrate.diff(from, to) on many pairs of schemas written here.  Each case is
# a name, the SQL of schema A and the SQL of schema B, written without a
# schema name (they run with search_path set to the schema they fill; @S@
# stands for its name where one is needed), and is instantiated three
# times: a and b, and c, a second copy of A that the statements run on.  For
# each case:
#   - the case is not vacuous: the schema models of A and B differ;
#   - diff(a, a) and diff(b, b) are empty;
#   - diff(c, b) gives the same rows on a second call, and diff(a, b) the
#     same rows with a's name for c's; its ordinals run 1..n in each
#     direction, its statements end with ';' and name c, never b;
#   - its up statements, in ordinal order, run in one transaction (BEGIN,
#     the statements, COMMIT: what psql -1 sends) on c, after which
#     diff(c, b) is empty and c's schema model equals b's (schema names and
#     column order aside);
#   - rows inserted into c before the up statements are still there in
#     every column that A and B define alike;
#   - the down statements, run the same way, leave diff(c, a) empty and c's
#     model equal to a's, and the data of those columns intact again;
#   - a case that drops or narrows something is refused without
#     allow_destructive (SQLSTATE $DESTRUCTIVE_SQLSTATE), the others are not.
# Besides every object kind of the issue, the cases include dependency
# chains and the failure shapes of the peers (migra #7, #8, #92, #142, #143;
# stripe/pg-schema-diff #191, #265, #280, #281; supabase/cli #3606;
# bytebase #14690; the blind spots Alembic documents for autogenerate),
# named after their source.  Then the arguments diff() refuses, and
# autogenerate().  The cases run in DIFFPROP_JOBS (default 3) worker
# processes, each in a database of its own (DIFFPROP_SHARED_DB=1: all in
# one, which found D15), that only collect results; the assertions are made
# here, in the cases' order.  Cases still failing for an engine bug are
# listed in %known_engine_bugs with their report (D<n> in /tmp/diff-bugs.md,
# the session's exchange with the engine's author) and skipped, saying why
# (DIFFPROP_RUN_KNOWN=1 runs them all the same).
use strict;
use warnings;

use JSON::PP;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# What a destructive diff without allow_destructive fails with (README).
my $DESTRUCTIVE_SQLSTATE = '22023';

# Cases failing for an engine bug not fixed yet: name => the report in
# /tmp/diff-bugs.md (D<n>) and what fails.
my %known_engine_bugs = (
	# none at the last merge of the diff branch (cea4f05): D1-D17 are fixed
);

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

# The database the SQL runs in: each worker process has its own (below).
my $db = 'postgres';

# Runs SQL on the test database; returns (ok, stdout, stderr).
sub try_sql
{
	my ($sql, @extra) = @_;
	my ($rc, $out, $err) = $node->psql($db, $sql, extra_params => [@extra]);
	return ($rc == 0, $out, $err);
}

# Runs SQL that must succeed; returns its output.
sub sql
{
	my ($sql) = @_;
	return $node->safe_psql($db, $sql);
}

# A SQL text literal.
sub lit
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

sql(q{CREATE EXTENSION migrate});
sql(q{CREATE ROLE diffprop_reader; CREATE ROLE diffprop_writer});

# Per column of each table of schema s (a JSON object table.column =>): the
# number of rows and a digest of the column's values as text, sorted.
sql(<<'SQL');
CREATE FUNCTION public.diffprop_colsums(s text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	r record;
	d text;
	res jsonb := '{}';
BEGIN
	FOR r IN
		SELECT c.relname, a.attname
		  FROM pg_class c
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		 WHERE n.nspname = s AND c.relkind IN ('r', 'p')
	LOOP
		EXECUTE format('SELECT count(*) || '':'' || coalesce(md5(string_agg(coalesce(%1$I::text, ''<null>''), '','' '
		               'ORDER BY coalesce(%1$I::text, ''<null>''))), '''') FROM %2$I.%3$I', r.attname, s, r.relname)
		   INTO d;
		res := res || jsonb_build_object(r.relname || '.' || r.attname, d);
	END LOOP;
	RETURN res::json;
END
$$;
-- The rows of a diff, up first, as a JSON array of [direction, ordinal,
-- kind, identity, statement]; or {"error": "SQLSTATE message"}.
CREATE FUNCTION public.diffprop_rows(f text, t text, r text[], d boolean) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	res json;
BEGIN
	SELECT coalesce(json_agg(json_build_array(direction, ordinal, kind, identity, statement)
	                         ORDER BY direction <> 'up', ordinal), '[]')
	  INTO res
	  FROM migrate.diff(f, t, renames => r, allow_destructive => d);
	RETURN res;
EXCEPTION WHEN others THEN
	RETURN json_build_object('error', SQLSTATE || ' ' || SQLERRM);
END
$$;
-- The schema model of schema s as a JSON array of [kind, identity, definition].
CREATE FUNCTION public.diffprop_model(s text) RETURNS json LANGUAGE sql AS $$
	SELECT coalesce(json_agg(json_build_array(kind, identity, definition)), '[]')
	  FROM migrate.schema_model(ARRAY[s])
$$;
-- The SQLSTATE, message and detail an SQL text fails with, or 'ok'.
CREATE FUNCTION public.diffprop_error(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ' ' || SQLERRM || coalesce(E'\nDETAIL: ' || nullif(d, ''), '');
END
$$;
SQL

# ---------------------------------------------------------------------------
# The cases.  a, b: SQL run with search_path set to the schema being filled
# (then public); data: SQL run on c before the up statements (same
# search_path); renames: the renames argument; destructive: the diff needs
# allow_destructive; after: [SQL, expected output] run on c after the up
# statements.
my @cases = (

	# tables
	{
		name => 'table: added',
		a => q{CREATE TABLE t (id int PRIMARY KEY)},
		b => q{CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY, v text NOT NULL DEFAULT 'x')},
		data => q{INSERT INTO t VALUES (1), (2)},
	},
	{
		name => 'table: dropped',
		a => q{CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY)},
		data => q{INSERT INTO t VALUES (1); INSERT INTO u VALUES (1, 'gone')},
		destructive => 1,
	},
	{
		name => 'table: unlogged becomes logged',
		a => q{CREATE UNLOGGED TABLE t (id int PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text)},
		data => q{INSERT INTO t VALUES (1, 'a')},
	},

	# columns
	{
		name => 'column: added, nullable and NOT NULL with a default',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text, w int, x text NOT NULL DEFAULT 'none')},
		data => q{INSERT INTO t VALUES (1, 'a'), (2, NULL)},
		after => [ [ q{SELECT string_agg(x, ',' ORDER BY id) FROM t}, 'none,none' ] ],
	},
	{
		name => 'column: dropped',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text, w int)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text)},
		data => q{INSERT INTO t VALUES (1, 'a', 10)},
		destructive => 1,
	},
	{
		name => 'column: type widened, int to bigint and varchar(10) to varchar(40)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, n int, s varchar(10), keep text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, n bigint, s varchar(40), keep text)},
		data => q{INSERT INTO t VALUES (1, 7, 'short', 'k1'), (2, NULL, NULL, 'k2')},
		after => [ [ q{SELECT string_agg(n || '/' || s, ',' ORDER BY id) FROM t}, '7/short' ] ],
	},
	{
		name => 'column: type narrowed, varchar(40) to varchar(10) and bigint to int',
		a => q{CREATE TABLE t (id int PRIMARY KEY, n bigint, s varchar(40))},
		b => q{CREATE TABLE t (id int PRIMARY KEY, n int, s varchar(10))},
		data => q{INSERT INTO t VALUES (1, 7, 'short')},
		destructive => 1,
	},
	{
		name => 'column: type changed, int to text and numeric(10,2) to numeric(12,2)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, code int, amount numeric(10,2))},
		b => q{CREATE TABLE t (id int PRIMARY KEY, code text, amount numeric(12,2))},
		data => q{INSERT INTO t VALUES (1, 42, 3.5)},
		after => [ [ q{SELECT code || ' ' || amount FROM t}, '42 3.50' ] ],
	},
	{
		name => 'column: default added, changed and dropped (alembic: server default)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, a int, b text DEFAULT 'old', c timestamptz DEFAULT now())},
		b => q{CREATE TABLE t (id int PRIMARY KEY, a int DEFAULT 0, b text DEFAULT 'new', c timestamptz)},
		data => q{INSERT INTO t (id) VALUES (1)},
		after => [ [ q{INSERT INTO t (id) VALUES (2) RETURNING a || b || coalesce(c::text, '-')}, '0new-' ] ],
	},
	{
		name => 'column: NOT NULL set and dropped',
		a => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int NOT NULL)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b int)},
		data => q{INSERT INTO t VALUES (1, 1, 1)},
	},
	{
		name => 'column: identity added',
		a => q{CREATE TABLE t (id int NOT NULL, v text)},
		b => q{CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY, v text)},
		data => q{INSERT INTO t VALUES (1, 'a')},
	},
	{
		name => 'column: identity ALWAYS becomes BY DEFAULT, another identity dropped',
		a => q{CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, n bigint GENERATED BY DEFAULT AS IDENTITY, v text)},
		b => q{CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY, n bigint NOT NULL, v text)},
		data => q{INSERT INTO t (v) VALUES ('a'), ('b')},
	},
	{
		name => 'column: generated column added',
		a => q{CREATE TABLE t (id int PRIMARY KEY, price numeric, qty int)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, price numeric, qty int,
		       total numeric GENERATED ALWAYS AS (price * qty) STORED)},
		data => q{INSERT INTO t VALUES (1, 2.5, 4)},
		after => [ [ q{SELECT total FROM t}, '10.0' ] ],
	},
	{
		name => 'column: generation expression changed',
		a => q{CREATE TABLE t (id int PRIMARY KEY, price numeric, qty int,
		       total numeric GENERATED ALWAYS AS (price * qty) STORED)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, price numeric, qty int,
		       total numeric GENERATED ALWAYS AS (price * qty + 1) STORED)},
		data => q{INSERT INTO t VALUES (1, 2.5, 4)},
		after => [ [ q{SELECT total FROM t}, '11.0' ] ],
	},
	{
		name => 'column: collation changed',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text COLLATE "C")},
		data => q{INSERT INTO t VALUES (1, 'b'), (2, 'a')},
	},

	# constraints
	{
		name => 'primary key: added (alembic: free-standing PRIMARY KEY)',
		a => q{CREATE TABLE t (id int NOT NULL, v text)},
		b => q{CREATE TABLE t (id int NOT NULL, v text, PRIMARY KEY (id))},
		data => q{INSERT INTO t VALUES (1, 'a'), (2, 'b')},
	},
	{
		name => 'primary key: dropped, and another one changes its columns',
		a => q{CREATE TABLE t (id int NOT NULL PRIMARY KEY, v text);
		       CREATE TABLE u (a int NOT NULL, b int NOT NULL, CONSTRAINT u_pkey PRIMARY KEY (a))},
		b => q{CREATE TABLE t (id int NOT NULL, v text);
		       CREATE TABLE u (a int NOT NULL, b int NOT NULL, CONSTRAINT u_pkey PRIMARY KEY (a, b))},
		data => q{INSERT INTO t VALUES (1, 'a'); INSERT INTO u VALUES (1, 1), (2, 1)},
	},
	{
		name => 'unique: added and dropped',
		a => q{CREATE TABLE t (id int PRIMARY KEY, a int UNIQUE, b int)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int, CONSTRAINT t_b_key UNIQUE (b))},
		data => q{INSERT INTO t VALUES (1, 1, 1), (2, 2, 2)},
	},
	{
		name => 'check: added (alembic: free-standing CHECK)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, qty int)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, qty int, CONSTRAINT qty_positive CHECK (qty > 0))},
		data => q{INSERT INTO t VALUES (1, 5)},
	},
	{
		name => 'check: expression of an unnamed constraint changed (alembic: anonymously named constraint)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, qty int CHECK (qty > 0))},
		b => q{CREATE TABLE t (id int PRIMARY KEY, qty int CHECK (qty >= 0))},
		data => q{INSERT INTO t VALUES (1, 5)},
	},
	{
		name => 'foreign key: added',
		a => q{CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid int)},
		b => q{CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p)},
		data => q{INSERT INTO p VALUES (1); INSERT INTO c VALUES (10, 1)},
	},
	{
		name => 'foreign key: ON DELETE CASCADE and DEFERRABLE',
		a => q{CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p)},
		b => q{CREATE TABLE p (id int PRIMARY KEY);
		       CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED)},
		data => q{INSERT INTO p VALUES (1); INSERT INTO c VALUES (10, 1)},
	},
	{
		name => 'foreign key: referenced table dropped with it',
		a => q{CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p)},
		b => q{CREATE TABLE c (id int PRIMARY KEY, pid int)},
		# no row of c refers to p: p's rows do not come back with the down
		data => q{INSERT INTO p VALUES (1); INSERT INTO c VALUES (10, NULL)},
		destructive => 1,
	},
	{
		name => 'exclusion constraint: added',
		a => q{CREATE TABLE booking (id int PRIMARY KEY, room int, during tsrange)},
		b => q{CREATE TABLE booking (id int PRIMARY KEY, room int, during tsrange,
		       CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&))},
		data => q{INSERT INTO booking VALUES (1, 1, '[2026-01-01,2026-01-02)')},
	},

	# indexes
	{
		name => 'index: added, dropped, columns changed, partial, unique',
		a => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int, c text);
		       CREATE INDEX t_a ON t (a); CREATE INDEX t_b ON t (b); CREATE INDEX t_old ON t (c)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int, c text);
		       CREATE INDEX t_a ON t (a, b); CREATE INDEX t_b ON t (b) WHERE b > 0;
		       CREATE UNIQUE INDEX t_c ON t (c)},
		data => q{INSERT INTO t VALUES (1, 1, 1, 'x'), (2, 2, 2, 'y')},
	},
	{
		name => 'index: expression index',
		a => q{CREATE TABLE t (id int PRIMARY KEY, email text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, email text); CREATE UNIQUE INDEX t_email ON t (lower(email))},
		data => q{INSERT INTO t VALUES (1, 'A@x'), (2, 'b@x')},
	},

	# views and materialized views
	{
		name => 'view: added and dropped',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW old_v AS SELECT id FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW new_v AS SELECT id, v FROM t WHERE id > 0},
		data => q{INSERT INTO t VALUES (1, 'a')},
	},
	{
		name => 'view: definition changed, same columns',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW v AS SELECT id, v FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW v AS SELECT id, upper(v) AS v FROM t WHERE id > 0},
	},
	{
		name => 'view: column appended',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW v AS SELECT id FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW v AS SELECT id, v FROM t},
	},
	{
		name => 'view: column removed and another renamed',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text, w text); CREATE VIEW v AS SELECT id, v, w FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text, w text); CREATE VIEW v AS SELECT id AS key, w FROM t},
	},
	{
		name => 'view: security_barrier and check option',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW v AS SELECT id, v FROM t WHERE id > 0},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text);
		       CREATE VIEW v WITH (security_barrier) AS SELECT id, v FROM t WHERE id > 0 WITH CHECK OPTION},
	},
	{
		name => 'materialized view: added with an index',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text);
		       CREATE MATERIALIZED VIEW mv AS SELECT id, v FROM t; CREATE UNIQUE INDEX mv_id ON mv (id)},
		data => q{INSERT INTO t VALUES (1, 'a')},
		after => [ [ q{SELECT count(*) FROM mv}, '1' ] ],
	},
	{
		name => 'materialized view: definition changed',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE MATERIALIZED VIEW mv AS SELECT id FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE MATERIALIZED VIEW mv AS SELECT id, v FROM t},
		data => q{INSERT INTO t VALUES (1, 'a')},
		destructive => 1,
	},
	{
		name => 'materialized view: dropped',
		a => q{CREATE TABLE t (id int PRIMARY KEY); CREATE MATERIALIZED VIEW mv AS SELECT id FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY)},
		destructive => 1,
	},

	# functions and procedures
	{
		name => 'function: added and dropped',
		a => q{CREATE FUNCTION old_f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x + 1'},
		b => q{CREATE FUNCTION new_f(x int, y int DEFAULT 2) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x * y'},
	},
	{
		name => 'function: body changed',
		a => q{CREATE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN x + 1; END $$},
		b => q{CREATE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN x + 2; END $$},
		after => [ [ q{SELECT f(1)}, '3' ] ],
	},
	{
		name => 'function: argument added, return type changed, overloads',
		a => q{CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS 'SELECT x';
		       CREATE FUNCTION g(x int) RETURNS int LANGUAGE sql AS 'SELECT x';
		       CREATE FUNCTION h(x int) RETURNS int LANGUAGE sql AS 'SELECT x'},
		b => q{CREATE FUNCTION f(x int, y int) RETURNS int LANGUAGE sql AS 'SELECT x + y';
		       CREATE FUNCTION g(x int) RETURNS bigint LANGUAGE sql AS 'SELECT x::bigint';
		       CREATE FUNCTION h(x int) RETURNS int LANGUAGE sql AS 'SELECT x';
		       CREATE FUNCTION h(x text) RETURNS text LANGUAGE sql AS 'SELECT x'},
		after => [ [ q{SELECT f(1, 2) || ' ' || g(3) || ' ' || h('t')}, '3 3 t' ] ],
	},
	{
		name => 'function: volatility, strictness, security definer and cost changed',
		a => q{CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS 'SELECT x'},
		b => q{CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql IMMUTABLE STRICT SECURITY DEFINER COST 5 AS 'SELECT x'},
	},
	{
		name => 'procedure: added and changed',
		a => q{CREATE TABLE log (msg text); CREATE PROCEDURE p(m text) LANGUAGE sql AS $$INSERT INTO log VALUES (m)$$},
		b => q{CREATE TABLE log (msg text); CREATE PROCEDURE p(m text) LANGUAGE sql AS $$INSERT INTO log VALUES (upper(m))$$;
		       CREATE PROCEDURE q() LANGUAGE plpgsql AS $$BEGIN DELETE FROM log; END$$},
		data => q{INSERT INTO log VALUES ('kept')},
	},

	# triggers
	{
		name => 'trigger: added with its function',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text, changed timestamptz)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text, changed timestamptz);
		       CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.changed := now(); RETURN NEW; END$$;
		       CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()},
		data => q{INSERT INTO t VALUES (1, 'a', NULL)},
		after => [ [ q{UPDATE t SET v = 'b' RETURNING changed IS NOT NULL}, 't' ] ],
	},
	{
		name => 'trigger: timing, events and WHEN changed; another dropped; another disabled',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       CREATE TRIGGER t2 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       CREATE TRIGGER t3 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t1 AFTER INSERT OR UPDATE ON t FOR EACH ROW WHEN (NEW.id > 0) EXECUTE FUNCTION trg();
		       CREATE TRIGGER t3 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       ALTER TABLE t DISABLE TRIGGER t3},
		data => q{INSERT INTO t VALUES (1, 'a')},
	},

	# sequences
	{
		name => 'sequence: changed increment, bounds, cache and cycle',
		a => q{CREATE SEQUENCE s},
		b => q{CREATE SEQUENCE s INCREMENT 5 MINVALUE 10 MAXVALUE 1000 START 10 CACHE 3 CYCLE},
		destructive => 1,    # the range narrows: the sequence restarts
	},
	{
		name => 'sequence: owned by a column',
		a => q{CREATE TABLE t (id int PRIMARY KEY); CREATE SEQUENCE s},
		b => q{CREATE TABLE t (id int PRIMARY KEY); CREATE SEQUENCE s OWNED BY t.id},
	},
	{
		name => 'sequence: added and removed (alembic: sequence additions, removals)',
		a => q{CREATE SEQUENCE old_s},
		b => q{CREATE SEQUENCE new_s AS integer},
		destructive => 1,
	},

	# enums and domains
	{
		name => 'enum: added and used by a new column',
		a => q{CREATE TABLE t (id int PRIMARY KEY)},
		b => q{CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE t (id int PRIMARY KEY, m mood DEFAULT 'ok')},
		data => q{INSERT INTO t VALUES (1)},
	},
	{
		name => 'enum: value appended and inserted, used by columns (alembic: native ENUM gains a value)',
		a => q{CREATE TYPE mood AS ENUM ('sad', 'happy');
		       CREATE TABLE t (id int PRIMARY KEY, m mood, ms mood[])},
		b => q{CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ecstatic');
		       CREATE TABLE t (id int PRIMARY KEY, m mood, ms mood[])},
		data => q{INSERT INTO t VALUES (1, 'sad', '{happy,sad}'), (2, 'happy', NULL)},
	},
	{
		name => 'enum: value removed, used by a column and a default',
		a => q{CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
		       CREATE TABLE t (id int PRIMARY KEY, m mood DEFAULT 'sad')},
		b => q{CREATE TYPE mood AS ENUM ('sad', 'happy');
		       CREATE TABLE t (id int PRIMARY KEY, m mood DEFAULT 'sad')},
		data => q{INSERT INTO t VALUES (1, 'sad'), (2, 'happy')},
		after => [ [ q{SELECT string_agg(m::text, ',' ORDER BY id) FROM t}, 'sad,happy' ] ],
		destructive => 1,
	},
	{
		name => 'domain: added and used by a column',
		a => q{CREATE TABLE t (id int PRIMARY KEY)},
		b => q{CREATE DOMAIN posint AS int CHECK (VALUE > 0); CREATE TABLE t (id int PRIMARY KEY, n posint)},
		data => q{INSERT INTO t VALUES (1)},
	},
	{
		name => 'domain: constraint, default and NOT NULL changed',
		a => q{CREATE DOMAIN code AS text CONSTRAINT code_len CHECK (length(VALUE) < 10);
		       CREATE TABLE t (id int PRIMARY KEY, c code)},
		b => q{CREATE DOMAIN code AS text NOT NULL DEFAULT 'none' CONSTRAINT code_len CHECK (length(VALUE) < 20);
		       CREATE TABLE t (id int PRIMARY KEY, c code)},
		data => q{INSERT INTO t VALUES (1, 'abc')},
	},

	# comments
	{
		name => 'comment: added, changed and removed on every kind',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX t_v ON t (v);
		       CREATE VIEW v AS SELECT id FROM t; CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
		       CREATE SEQUENCE s; CREATE TYPE e AS ENUM ('x');
		       COMMENT ON TABLE t IS 'old'; COMMENT ON COLUMN t.v IS 'gone'},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX t_v ON t (v);
		       CREATE VIEW v AS SELECT id FROM t; CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
		       CREATE SEQUENCE s; CREATE TYPE e AS ENUM ('x');
		       COMMENT ON TABLE t IS 'new, with ''quotes'''; COMMENT ON COLUMN t.id IS 'the key';
		       COMMENT ON INDEX t_v IS 'by v'; COMMENT ON CONSTRAINT t_pkey ON t IS 'pk';
		       COMMENT ON VIEW v IS 'a view'; COMMENT ON FUNCTION f() IS 'one';
		       COMMENT ON SEQUENCE s IS 'seq'; COMMENT ON TYPE e IS 'enum'},
	},

	# row level security and policies
	{
		name => 'rls: enabled and forced, policies added',
		a => q{CREATE TABLE t (id int PRIMARY KEY, owner name)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, owner name);
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
		       CREATE POLICY mine ON t USING (owner = current_user);
		       CREATE POLICY ins ON t FOR INSERT TO diffprop_writer WITH CHECK (owner = current_user)},
		data => q{INSERT INTO t VALUES (1, 'postgres')},
	},
	{
		name => 'policy: expression, roles and permissiveness changed; one dropped; rls disabled',
		a => q{CREATE TABLE t (id int PRIMARY KEY, owner name); CREATE TABLE u (id int);
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE u ENABLE ROW LEVEL SECURITY;
		       CREATE POLICY p1 ON t USING (owner = current_user);
		       CREATE POLICY p2 ON t FOR SELECT USING (true);
		       CREATE POLICY p3 ON u USING (id > 0)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, owner name); CREATE TABLE u (id int);
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY;
		       CREATE POLICY p1 ON t AS RESTRICTIVE TO diffprop_reader, diffprop_writer USING (owner = session_user);
		       CREATE POLICY p3 ON u USING (id > 0)},
	},

	# grants
	{
		name => 'grant: table, column, function, sequence privileges granted and revoked',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE SEQUENCE s;
		       CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE VIEW v AS SELECT id FROM t;
		       GRANT SELECT, INSERT ON t TO diffprop_writer},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE SEQUENCE s;
		       CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE VIEW v AS SELECT id FROM t;
		       GRANT SELECT ON t TO diffprop_writer; GRANT SELECT ON t TO diffprop_reader WITH GRANT OPTION;
		       GRANT UPDATE (v) ON t TO diffprop_writer; GRANT USAGE ON SEQUENCE s TO diffprop_writer;
		       REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC; GRANT EXECUTE ON FUNCTION f() TO diffprop_reader;
		       GRANT SELECT ON v TO diffprop_reader},
		data => q{INSERT INTO t VALUES (1, 'a')},
	},
	{
		name => 'grant: type usage revoked from PUBLIC, table owner changed',
		a => q{CREATE TYPE e AS ENUM ('x'); CREATE TABLE t (id int)},
		b => q{CREATE TYPE e AS ENUM ('x'); CREATE TABLE t (id int);
		       REVOKE USAGE ON TYPE e FROM PUBLIC; ALTER TABLE t OWNER TO diffprop_writer},
	},

	# dependency chains
	{
		name => 'chain: view on view on table, column type changed under both (pg-schema-diff #280, two levels)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, val varchar(20), other text);
		       CREATE VIEW v1 AS SELECT id, val FROM t; CREATE VIEW v2 AS SELECT id, val FROM v1 WHERE id > 0;
		       CREATE VIEW v3 AS SELECT other FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, val varchar(100), other text);
		       CREATE VIEW v1 AS SELECT id, val FROM t; CREATE VIEW v2 AS SELECT id, val FROM v1 WHERE id > 0;
		       CREATE VIEW v3 AS SELECT other FROM t},
		data => q{INSERT INTO t VALUES (1, 'a', 'o')},
		after => [ [ q{SELECT val FROM v2}, 'a' ] ],
	},
	{
		name => 'chain: foreign keys over three tables, key type widened on all',
		a => q{CREATE TABLE t1 (id int PRIMARY KEY);
		       CREATE TABLE t2 (id int PRIMARY KEY, t1_id int REFERENCES t1);
		       CREATE TABLE t3 (id int PRIMARY KEY, t2_id int REFERENCES t2 ON DELETE CASCADE)},
		b => q{CREATE TABLE t1 (id bigint PRIMARY KEY);
		       CREATE TABLE t2 (id bigint PRIMARY KEY, t1_id bigint REFERENCES t1);
		       CREATE TABLE t3 (id int PRIMARY KEY, t2_id bigint REFERENCES t2 ON DELETE CASCADE)},
		data => q{INSERT INTO t1 VALUES (1); INSERT INTO t2 VALUES (2, 1); INSERT INTO t3 VALUES (3, 2)},
	},
	{
		name => 'chain: function used by a default, a check, an index and a trigger, body changed',
		a => q{CREATE FUNCTION norm(x text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(x)';
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.v := norm(NEW.v); RETURN NEW; END$$;
		       CREATE TABLE t (id int PRIMARY KEY, v text DEFAULT norm('X') CHECK (norm(v) <> ''));
		       CREATE INDEX t_norm ON t (norm(v));
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()},
		b => q{CREATE FUNCTION norm(x text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(trim(x))';
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.v := norm(NEW.v); RETURN NEW; END$$;
		       CREATE TABLE t (id int PRIMARY KEY, v text DEFAULT norm('X') CHECK (norm(v) <> ''));
		       CREATE INDEX t_norm ON t (norm(v));
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()},
		data => q{INSERT INTO t VALUES (1, 'Abc')},
	},
	{
		name => 'chain: function used by a default, a check, an index and a trigger, return type changed',
		a => q{CREATE FUNCTION norm(x text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(x)';
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TABLE t (id int PRIMARY KEY, v text DEFAULT norm('X') CHECK (norm(v) <> ''));
		       CREATE INDEX t_norm ON t (norm(v));
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()},
		b => q{CREATE FUNCTION norm(x text) RETURNS varchar LANGUAGE sql IMMUTABLE AS 'SELECT lower(x)::varchar';
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TABLE t (id int PRIMARY KEY, v text DEFAULT norm('X') CHECK (norm(v) <> ''));
		       CREATE INDEX t_norm ON t (norm(v));
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()},
		data => q{INSERT INTO t VALUES (1, 'abc')},
	},
	{
		name => 'chain: view calling a function whose return type changes',
		a => q{CREATE TABLE t (id int PRIMARY KEY);
		       CREATE FUNCTION dbl(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
		       CREATE VIEW v AS SELECT id, dbl(id) AS d FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY);
		       CREATE FUNCTION dbl(x int) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT x::bigint * 2';
		       CREATE VIEW v AS SELECT id, dbl(id) AS d FROM t},
		data => q{INSERT INTO t VALUES (4)},
		after => [ [ q{SELECT d FROM v}, '8' ] ],
	},
	{
		name => 'chain: enum used by columns, a view and a function gains a value and loses one',
		a => q{CREATE TYPE status AS ENUM ('new', 'legacy', 'done');
		       CREATE TABLE t (id int PRIMARY KEY, s status NOT NULL DEFAULT 'new');
		       CREATE TABLE u (id int PRIMARY KEY, s status);
		       CREATE VIEW open_t AS SELECT id FROM t WHERE s = 'new';
		       CREATE FUNCTION is_done(x status) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT x = 'done'$$},
		b => q{CREATE TYPE status AS ENUM ('new', 'active', 'done');
		       CREATE TABLE t (id int PRIMARY KEY, s status NOT NULL DEFAULT 'new');
		       CREATE TABLE u (id int PRIMARY KEY, s status);
		       CREATE VIEW open_t AS SELECT id FROM t WHERE s = 'new';
		       CREATE FUNCTION is_done(x status) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$SELECT x = 'done'$$},
		data => q{INSERT INTO t VALUES (1, 'new'), (2, 'done'); INSERT INTO u VALUES (1, NULL), (2, 'done')},
		after => [ [ q{SELECT string_agg(s::text, ',' ORDER BY id) FROM t}, 'new,done' ] ],
		destructive => 1,
	},

	{
		name => 'chain: column a view uses dropped, the view loses it',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text, w text); CREATE VIEW tv AS SELECT id, v, w FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW tv AS SELECT id, v FROM t},
		data => q{INSERT INTO t VALUES (1, 'a', 'b')},
		destructive => 1,
	},
	{
		name => 'chain: view over a materialized view over a table whose column type changes',
		a => q{CREATE TABLE t (id int PRIMARY KEY, n int); CREATE MATERIALIZED VIEW mv AS SELECT id, n FROM t;
		       CREATE VIEW v AS SELECT id, n FROM mv},
		b => q{CREATE TABLE t (id int PRIMARY KEY, n bigint); CREATE MATERIALIZED VIEW mv AS SELECT id, n FROM t;
		       CREATE VIEW v AS SELECT id, n FROM mv},
		data => q{INSERT INTO t VALUES (1, 5)},
		destructive => 1,
	},
	{
		name => 'chain: foreign keys forming a cycle between two new tables',
		a => q{},
		b => q{CREATE TABLE a_emp (id int PRIMARY KEY, dept int);
		       CREATE TABLE z_dept (id int PRIMARY KEY, head int REFERENCES a_emp);
		       ALTER TABLE a_emp ADD FOREIGN KEY (dept) REFERENCES z_dept},
	},
	{
		name => 'chain: foreign key to a new table named after its referrer',
		a => q{CREATE TABLE a_child (id int PRIMARY KEY, parent_id int)},
		b => q{CREATE TABLE z_parent (id int PRIMARY KEY);
		       CREATE TABLE a_child (id int PRIMARY KEY, parent_id int REFERENCES z_parent)},
	},
	{
		name => 'chain: sequence used by a default, both dropped',
		a => q{CREATE SEQUENCE s; CREATE TABLE t (id bigint DEFAULT nextval('s') PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id bigint PRIMARY KEY, v text)},
		data => q{INSERT INTO t (v) VALUES ('a')},
		destructive => 1,
	},
	{
		name => 'chain: policy and trigger using functions created in the same diff',
		a => q{CREATE TABLE t (id int PRIMARY KEY, owner name)},
		b => q{CREATE FUNCTION z_allowed(o name) RETURNS boolean LANGUAGE sql STABLE AS 'SELECT o = current_user';
		       CREATE FUNCTION z_fill() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.owner := current_user; RETURN NEW; END$$;
		       CREATE TABLE t (id int PRIMARY KEY, owner name);
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY;
		       CREATE POLICY a_mine ON t USING (z_allowed(owner));
		       CREATE TRIGGER a_fill BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION z_fill()},
		data => q{INSERT INTO t VALUES (1, 'postgres')},
	},
	{
		name => 'chain: INSTEAD OF trigger on a view, view changed',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW tv AS SELECT id, v FROM t;
		       CREATE FUNCTION tv_ins() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO t VALUES (NEW.id, NEW.v); RETURN NEW; END$$;
		       CREATE TRIGGER tv_ins INSTEAD OF INSERT ON tv FOR EACH ROW EXECUTE FUNCTION tv_ins()},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW tv AS SELECT id, v FROM t WHERE id > 0;
		       CREATE FUNCTION tv_ins() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO t VALUES (NEW.id, NEW.v); RETURN NEW; END$$;
		       CREATE TRIGGER tv_ins INSTEAD OF INSERT ON tv FOR EACH ROW EXECUTE FUNCTION tv_ins()},
		after => [ [ q{INSERT INTO tv VALUES (5, 'x'); SELECT v FROM t WHERE id = 5}, 'x' ] ],
	},

	{
		name => 'chain: column used by a generated column changes type',
		a => q{CREATE TABLE t (id int PRIMARY KEY, price int, dbl bigint GENERATED ALWAYS AS (price * 2) STORED)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, price bigint, dbl bigint GENERATED ALWAYS AS (price * 2) STORED)},
		data => q{INSERT INTO t (id, price) VALUES (1, 21)},
		after => [ [ q{SELECT price || ' ' || dbl FROM t}, '21 42' ] ],
	},
	{
		name => 'chain: column used by a policy and a trigger WHEN changes type',
		a => q{CREATE TABLE t (id int PRIMARY KEY, lvl int);
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (lvl < 5);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW WHEN (NEW.lvl > 0) EXECUTE FUNCTION trg()},
		b => q{CREATE TABLE t (id int PRIMARY KEY, lvl bigint);
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (lvl < 5);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW WHEN (NEW.lvl > 0) EXECUTE FUNCTION trg()},
		data => q{INSERT INTO t VALUES (1, 3)},
	},
	{
		name => 'chain: table dropped with the view over it',
		a => q{CREATE TABLE keep (id int PRIMARY KEY); CREATE TABLE t (id int PRIMARY KEY);
		       CREATE VIEW tv AS SELECT t.id FROM t JOIN keep USING (id)},
		b => q{CREATE TABLE keep (id int PRIMARY KEY)},
		data => q{INSERT INTO keep VALUES (1); INSERT INTO t VALUES (1)},
		destructive => 1,
	},
	{
		name => 'chain: column dropped with its index, constraint and comment',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text, w int CHECK (w > 0));
		       CREATE INDEX t_vw ON t (v, w); COMMENT ON COLUMN t.w IS 'gone'},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text)},
		data => q{INSERT INTO t VALUES (1, 'a', 1)},
		destructive => 1,
	},
	{
		name => 'chain: function returning SETOF a table created in the same diff (bytebase #14690 shape)',
		a => q{},
		b => q{CREATE TABLE z_items (id int PRIMARY KEY, v text);
		       CREATE FUNCTION a_items() RETURNS SETOF z_items LANGUAGE sql STABLE AS 'SELECT * FROM z_items';
		       CREATE VIEW a_view AS SELECT * FROM a_items()},
	},
	{
		name => 'column: serial added',
		a => q{CREATE TABLE t (v text)},
		b => q{CREATE TABLE t (v text, id serial)},
		data => q{INSERT INTO t VALUES ('a'), ('b')},
		after => [ [ q{SELECT count(DISTINCT id) FROM t}, '2' ] ],
	},
	{
		name => 'column: identity column widened, int to bigint',
		a => q{CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)},
		data => q{INSERT INTO t (v) VALUES ('a')},
	},
	{
		name => 'names: quoted identifiers (mixed case, keywords, spaces, quotes)',
		a => q{CREATE TABLE "UserAccounts" ("Id" int PRIMARY KEY, "order" int, "first name" text)},
		b => q{CREATE TABLE "UserAccounts" ("Id" int PRIMARY KEY, "order" bigint, "first name" text NOT NULL DEFAULT 'n',
		           "say ""hi""" text);
		       CREATE INDEX "Idx Order" ON "UserAccounts" ("order");
		       CREATE VIEW "select" AS SELECT "Id", "first name" FROM "UserAccounts";
		       CREATE FUNCTION "Fn"("In" int) RETURNS int LANGUAGE sql AS 'SELECT "In"';
		       CREATE TYPE "My Enum" AS ENUM ('a b', 'c''d');
		       COMMENT ON TABLE "UserAccounts" IS 'it''s $$ "quoted"
		       over two lines'},
		data => q{INSERT INTO "UserAccounts" VALUES (1, 2, 'x')},
	},
	{
		name => 'index: INCLUDE, DESC NULLS FIRST, opclass, gin, collation',
		a => q{CREATE TABLE t (id int PRIMARY KEY, a int, b text, tags text[], doc jsonb)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, a int, b text, tags text[], doc jsonb);
		       CREATE INDEX t_a ON t (a DESC NULLS FIRST) INCLUDE (b);
		       CREATE INDEX t_b ON t (b text_pattern_ops);
		       CREATE INDEX t_b_c ON t (b COLLATE "C");
		       CREATE INDEX t_tags ON t USING gin (tags);
		       CREATE INDEX t_doc ON t USING gin (doc jsonb_path_ops)},
		data => q{INSERT INTO t VALUES (1, 1, 'x', '{a}', '{"k": 1}')},
	},
	{
		name => 'constraints: deferrable unique, NULLS NOT DISTINCT, NO INHERIT check, multi-column fk MATCH FULL',
		a => q{CREATE TABLE p (a int, b int, PRIMARY KEY (a, b));
		       CREATE TABLE c (id int PRIMARY KEY, a int, b int, u int, n int)},
		b => q{CREATE TABLE p (a int, b int, PRIMARY KEY (a, b));
		       CREATE TABLE c (id int PRIMARY KEY, a int, b int, u int, n int,
		           CONSTRAINT c_u UNIQUE (u) DEFERRABLE INITIALLY DEFERRED,
		           CONSTRAINT c_n UNIQUE NULLS NOT DISTINCT (n),
		           CONSTRAINT c_pos CHECK (id > 0) NO INHERIT,
		           CONSTRAINT c_ab FOREIGN KEY (a, b) REFERENCES p MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL)},
		data => q{INSERT INTO p VALUES (1, 1); INSERT INTO c VALUES (1, 1, 1, 1, 1)},
	},
	{
		name => 'trigger: statement-level with transition tables, and a constraint trigger',
		a => q{CREATE TABLE t (id int PRIMARY KEY);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$},
		b => q{CREATE TABLE t (id int PRIMARY KEY);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
		       CREATE TRIGGER t_stmt AFTER INSERT ON t REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION trg();
		       CREATE CONSTRAINT TRIGGER t_con AFTER UPDATE ON t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION trg()},
	},
	{
		name => 'function: RETURNS TABLE, OUT parameters, defaults, SET options, plpgsql to sql',
		a => q{CREATE FUNCTION f(a int) RETURNS TABLE (x int, y text) LANGUAGE plpgsql AS $$BEGIN RETURN QUERY SELECT a, 'p'; END$$;
		       CREATE FUNCTION g(a int, OUT r int) LANGUAGE sql AS 'SELECT a'},
		b => q{CREATE FUNCTION f(a int) RETURNS TABLE (x int, y text) LANGUAGE sql STABLE AS $$SELECT a, 's'$$;
		       CREATE FUNCTION g(a int, b int DEFAULT 1, OUT r int) LANGUAGE sql SET work_mem = '8MB' AS 'SELECT a + b'},
		after => [ [ q{SELECT y FROM f(1)}, 's' ], [ q{SELECT g(1)}, '2' ] ],
	},
	{
		name => 'alembic: table renamed under a view and a foreign key (renames)',
		a => q{CREATE TABLE old_t (id int PRIMARY KEY, v text); CREATE TABLE r (id int PRIMARY KEY, t_id int REFERENCES old_t);
		       CREATE VIEW tv AS SELECT id, v FROM old_t},
		b => q{CREATE TABLE new_t (id int CONSTRAINT old_t_pkey PRIMARY KEY, v text);
		       CREATE TABLE r (id int PRIMARY KEY, t_id int CONSTRAINT r_t_id_fkey REFERENCES new_t);
		       CREATE VIEW tv AS SELECT id, v FROM new_t},
		data => q{INSERT INTO old_t VALUES (1, 'kept'); INSERT INTO r VALUES (1, 1)},
		renames => ['old_t:new_t'],
		after => [ [ q{SELECT v FROM tv}, 'kept' ] ],
	},
	{
		name => 'alembic: column renamed and widened, used by a check (renames)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, qty int CONSTRAINT t_qty_check CHECK (qty >= 0))},
		b => q{CREATE TABLE t (id int PRIMARY KEY, quantity bigint CONSTRAINT t_qty_check CHECK (quantity >= 0))},
		data => q{INSERT INTO t VALUES (1, 7)},
		renames => ['t.qty:t.quantity'],
		after => [ [ q{SELECT quantity FROM t}, '7' ] ],
	},

	{
		name => 'column: type and default changed together, text to int',
		a => q{CREATE TABLE t (id int PRIMARY KEY, code text DEFAULT 'x')},
		b => q{CREATE TABLE t (id int PRIMARY KEY, code int DEFAULT 0)},
		data => q{INSERT INTO t VALUES (1, '12')},
		after => [ [ q{SELECT code + 1 FROM t}, '13' ] ],
		destructive => 1,    # text to int narrows
	},
	{
		name => 'view: a column\'s type changed, with a view over it',
		a => q{CREATE TABLE t (id int PRIMARY KEY); CREATE VIEW v AS SELECT id::int AS n FROM t;
		       CREATE VIEW w AS SELECT n FROM v},
		b => q{CREATE TABLE t (id int PRIMARY KEY); CREATE VIEW v AS SELECT id::bigint AS n FROM t;
		       CREATE VIEW w AS SELECT n FROM v},
	},
	{
		name => 'enum: value added and used by a new default in the same diff',
		a => q{CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE t (id int PRIMARY KEY, m mood)},
		b => q{CREATE TYPE mood AS ENUM ('sad', 'happy', 'ok'); CREATE TABLE t (id int PRIMARY KEY, m mood DEFAULT 'ok')},
		data => q{INSERT INTO t VALUES (1, 'happy')},
		after => [ [ q{INSERT INTO t (id) VALUES (2) RETURNING m}, 'ok' ] ],
	},
	{
		name => 'comment: on a view column, a policy, a trigger and a domain',
		a => q{CREATE TABLE t (id int PRIMARY KEY); CREATE VIEW v AS SELECT id FROM t;
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (true);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       CREATE DOMAIN d AS int},
		b => q{CREATE TABLE t (id int PRIMARY KEY); CREATE VIEW v AS SELECT id FROM t;
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (true);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       CREATE DOMAIN d AS int;
		       COMMENT ON COLUMN v.id IS 'view column'; COMMENT ON POLICY p ON t IS 'policy';
		       COMMENT ON TRIGGER t_trg ON t IS 'trigger'; COMMENT ON DOMAIN d IS 'domain'},
	},
	{
		name => 'grant: PUBLIC granted on a table, the owner\'s own privileges narrowed',
		a => q{CREATE TABLE t (id int PRIMARY KEY)},
		b => q{CREATE TABLE t (id int PRIMARY KEY); GRANT SELECT ON t TO PUBLIC; REVOKE TRUNCATE ON t FROM postgres},
	},
	{
		name => 'table: storage options changed',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text) WITH (fillfactor = 90)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text) WITH (fillfactor = 70, autovacuum_enabled = false)},
		data => q{INSERT INTO t VALUES (1, 'a')},
	},
	{
		name => 'table: partitioned, a partition added and one dropped',
		a => q{CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at);
		       CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
		       CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
		       CREATE INDEX m_at ON m (at)},
		b => q{CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at);
		       CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
		       CREATE TABLE m_2027 PARTITION OF m FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
		       CREATE INDEX m_at ON m (at)},
		data => q{INSERT INTO m VALUES (1, '2026-05-01')},
		destructive => 1,
	},
	{
		name => 'renames: an index, a view and a sequence renamed',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX t_old ON t (v);
		       CREATE VIEW old_v AS SELECT id FROM t; CREATE SEQUENCE old_s},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE INDEX t_new ON t (v);
		       CREATE VIEW new_v AS SELECT id FROM t; CREATE SEQUENCE new_s},
		renames => [ 't_old:t_new', 'old_v:new_v', 'old_s:new_s' ],
	},

	{
		name => 'chain: function dropped, the view that used it changed',
		a => q{CREATE TABLE t (id int PRIMARY KEY); CREATE FUNCTION dbl(x int) RETURNS int LANGUAGE sql AS 'SELECT x * 2';
		       CREATE VIEW v AS SELECT id, dbl(id) AS d FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY); CREATE VIEW v AS SELECT id, id * 2 AS d FROM t},
	},
	{
		name => 'chain: domain dropped, its column becomes its base type',
		a => q{CREATE DOMAIN posint AS int CHECK (VALUE > 0); CREATE TABLE t (id int PRIMARY KEY, n posint)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, n int)},
		data => q{INSERT INTO t VALUES (1, 5)},
		after => [ [ q{SELECT n FROM t}, '5' ] ],
	},
	{
		name => 'chain: column dropped that a two-column check and index use, index on the rest added',
		a => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int, CONSTRAINT t_ab_check CHECK (a < b));
		       CREATE INDEX t_ab ON t (a, b)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, a int); CREATE INDEX t_a ON t (a)},
		data => q{INSERT INTO t VALUES (1, 1, 2)},
		destructive => 1,
	},
	{
		name => 'chain: referenced key column dropped, the foreign key with it',
		a => q{CREATE TABLE p (id int, code text UNIQUE); CREATE TABLE c (id int, p_code text REFERENCES p (code))},
		b => q{CREATE TABLE p (id int); CREATE TABLE c (id int, p_code text)},
		# no row of c refers to p: p.code's values do not come back with the down
		data => q{INSERT INTO p VALUES (1, 'x'); INSERT INTO c VALUES (1, NULL)},
		destructive => 1,
	},
	{
		name => 'trigger: its function replaced by another one',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text);
		       CREATE FUNCTION old_trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.v := 'old'; RETURN NEW; END$$;
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION old_trg()},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text);
		       CREATE FUNCTION new_trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.v := 'new'; RETURN NEW; END$$;
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION new_trg()},
		after => [ [ q{INSERT INTO t (id) VALUES (1) RETURNING v}, 'new' ] ],
	},
	{
		name => 'column: identity sequence options changed',
		a => q{CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY, v text)},
		b => q{CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY (START WITH 100 INCREMENT BY 10 CACHE 5), v text)},
		data => q{INSERT INTO t (v) VALUES ('a')},
	},

	{
		name => 'composite type: attribute added, used by a column',
		a => q{CREATE TYPE addr AS (street text, city text); CREATE TABLE t (id int PRIMARY KEY, home addr)},
		b => q{CREATE TYPE addr AS (street text, city text, zip text); CREATE TABLE t (id int PRIMARY KEY, home addr)},
		data => q{INSERT INTO t VALUES (1, ROW('Main St', 'Oslo'))},
		after => [ [ q{SELECT (home).street || ' ' || (home).city || coalesce((home).zip, '-') FROM t}, 'Main St Oslo-' ] ],
	},
	{
		name => 'inheritance: check constraint and column added to the parent',
		a => q{CREATE TABLE parent (id int NOT NULL); CREATE TABLE child (extra text) INHERITS (parent)},
		b => q{CREATE TABLE parent (id int NOT NULL, v text, CONSTRAINT parent_id_check CHECK (id > 0));
		       CREATE TABLE child (extra text) INHERITS (parent)},
		data => q{INSERT INTO child VALUES (1, 'e')},
	},
	{
		name => 'inheritance: column dropped from the parent',
		a => q{CREATE TABLE parent (id int NOT NULL, v text); CREATE TABLE child (extra text) INHERITS (parent)},
		b => q{CREATE TABLE parent (id int NOT NULL); CREATE TABLE child (extra text) INHERITS (parent)},
		data => q{INSERT INTO child VALUES (1, 'v', 'e')},
		destructive => 1,
	},
	{
		name => 'partitioned: column, index and foreign key added on the parent',
		a => q{CREATE TABLE ref (id int PRIMARY KEY);
		       CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at);
		       CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')},
		b => q{CREATE TABLE ref (id int PRIMARY KEY);
		       CREATE TABLE m (id int, at date NOT NULL, ref_id int REFERENCES ref) PARTITION BY RANGE (at);
		       CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
		       CREATE INDEX m_at ON m (at)},
		data => q{INSERT INTO m VALUES (1, '2026-05-01')},
	},
	{
		name => 'chain: serial column dropped, its sequence with it',
		a => q{CREATE TABLE t (id serial, v text)},
		b => q{CREATE TABLE t (v text)},
		data => q{INSERT INTO t (v) VALUES ('a')},
		destructive => 1,
	},
	{
		name => 'chain: table dropped with its index, trigger, policy, comment, grant and identity',
		a => q{CREATE TABLE keep (id int);
		       CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text); CREATE INDEX t_v ON t (v);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (true);
		       COMMENT ON TABLE t IS 'gone'; GRANT SELECT ON t TO diffprop_reader},
		b => q{CREATE TABLE keep (id int);
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$},
		data => q{INSERT INTO keep VALUES (1); INSERT INTO t (v) VALUES ('a')},
		destructive => 1,
	},
	{
		name => 'unique index promoted to a unique constraint',
		a => q{CREATE TABLE t (id int, code text); CREATE UNIQUE INDEX t_code_key ON t (code)},
		b => q{CREATE TABLE t (id int, code text, CONSTRAINT t_code_key UNIQUE (code))},
		data => q{INSERT INTO t VALUES (1, 'a')},
	},
	{
		name => 'renames: two tables swap names',
		a => q{CREATE TABLE x (id int PRIMARY KEY, from_x text); CREATE TABLE y (id int PRIMARY KEY, from_y text)},
		b => q{CREATE TABLE y (id int CONSTRAINT x_pkey PRIMARY KEY, from_x text);
		       CREATE TABLE x (id int CONSTRAINT y_pkey PRIMARY KEY, from_y text)},
		data => q{INSERT INTO x VALUES (1, 'x1'); INSERT INTO y VALUES (2, 'y2')},
		renames => [ 'x:y', 'y:x' ],
		after => [ [ q{SELECT from_x FROM y}, 'x1' ], [ q{SELECT from_y FROM x}, 'y2' ] ],
	},
	{
		name => 'renames: two columns swap names',
		a => q{CREATE TABLE t (id int PRIMARY KEY, first text, last varchar(40))},
		b => q{CREATE TABLE t (id int PRIMARY KEY, last text, first varchar(40))},
		data => q{INSERT INTO t VALUES (1, 'Ann', 'Lee')},
		renames => [ 't.first:t.last', 't.last:t.first' ],
		after => [ [ q{SELECT last || ' ' || first FROM t}, 'Ann Lee' ] ],
	},
	{
		name => 'renames: a table renamed and a new table takes its old name',
		a => q{CREATE TABLE events (id int PRIMARY KEY, v text)},
		b => q{CREATE TABLE events_archive (id int CONSTRAINT events_pkey PRIMARY KEY, v text);
		       CREATE TABLE events (id bigint CONSTRAINT events_new_pkey PRIMARY KEY, payload jsonb)},
		data => q{INSERT INTO events VALUES (1, 'old')},
		renames => ['events:events_archive'],
		after => [ [ q{SELECT v FROM events_archive}, 'old' ] ],
	},

	{
		name => 'function: SECURITY DEFINER with SET search_path and a body naming its schema',
		a => q{CREATE TABLE t (id int)},
		b => q{CREATE TABLE t (id int);
		       CREATE FUNCTION n() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @S@, pg_temp
		           AS 'SELECT count(*) FROM @S@.t'},
		after => [ [ q{SELECT n()}, '0' ] ],
	},
	{
		name => 'enum: two enums with long names sharing a prefix, both losing a label',
		a => q{CREATE TYPE status_of_the_long_running_background_job_in_queue_alpha AS ENUM ('a', 'b', 'c');
		       CREATE TYPE status_of_the_long_running_background_job_in_queue_omega AS ENUM ('a', 'b', 'c');
		       CREATE TABLE t (id int, x status_of_the_long_running_background_job_in_queue_alpha,
		           y status_of_the_long_running_background_job_in_queue_omega)},
		b => q{CREATE TYPE status_of_the_long_running_background_job_in_queue_alpha AS ENUM ('a', 'c');
		       CREATE TYPE status_of_the_long_running_background_job_in_queue_omega AS ENUM ('a', 'c');
		       CREATE TABLE t (id int, x status_of_the_long_running_background_job_in_queue_alpha,
		           y status_of_the_long_running_background_job_in_queue_omega)},
		data => q{INSERT INTO t VALUES (1, 'a', 'c')},
		destructive => 1,
	},

	{
		name => 'names: a dropped index\'s name taken by a new table',
		a => q{CREATE TABLE t (id int, v text); CREATE INDEX x ON t (v)},
		b => q{CREATE TABLE t (id int, v text); CREATE TABLE x (id int)},
		data => q{INSERT INTO t VALUES (1, 'a')},
	},
	{
		name => 'names: a view becomes a table of the same name',
		a => q{CREATE TABLE t (id int); CREATE VIEW r AS SELECT id FROM t},
		b => q{CREATE TABLE t (id int); CREATE TABLE r (id int, note text)},
	},
	{
		name => 'names: a function becomes a procedure with the same signature',
		a => q{CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql AS 'SELECT x'},
		b => q{CREATE PROCEDURE f(x int) LANGUAGE sql AS 'SELECT x'},
	},
	{
		name => 'names: a unique constraint\'s name taken by a check constraint',
		a => q{CREATE TABLE t (id int, a int, CONSTRAINT t_rule UNIQUE (a))},
		b => q{CREATE TABLE t (id int, a int, CONSTRAINT t_rule CHECK (a > 0))},
		data => q{INSERT INTO t VALUES (1, 1)},
	},
	{
		name => 'names: an enum replaced by a domain of the same name',
		a => q{CREATE TYPE kind AS ENUM ('a', 'b')},
		b => q{CREATE DOMAIN kind AS text CHECK (VALUE IN ('a', 'b', 'c'))},
	},
	{
		name => 'chain: unique constraint a foreign key uses gains INCLUDE',
		a => q{CREATE TABLE p (a int, b int, CONSTRAINT p_a_key UNIQUE (a)); CREATE TABLE c (x int REFERENCES p (a))},
		b => q{CREATE TABLE p (a int, b int, CONSTRAINT p_a_key UNIQUE (a) INCLUDE (b)); CREATE TABLE c (x int REFERENCES p (a))},
		data => q{INSERT INTO p VALUES (1, 1); INSERT INTO c VALUES (1)},
	},
	{
		name => 'chain: primary key renamed under a foreign key',
		a => q{CREATE TABLE p (id int CONSTRAINT p_pkey PRIMARY KEY); CREATE TABLE c (pid int REFERENCES p)},
		b => q{CREATE TABLE p (id int CONSTRAINT p_pk PRIMARY KEY); CREATE TABLE c (pid int REFERENCES p)},
		data => q{INSERT INTO p VALUES (1); INSERT INTO c VALUES (1)},
	},

	{
		name => 'chain: 30 new tables in a foreign key chain, named against their order',
		a => q{},
		b => join(";\n",
			'CREATE TABLE t_30 (id int PRIMARY KEY)',
			map { sprintf('CREATE TABLE t_%02d (id int PRIMARY KEY, up int REFERENCES t_%02d)', $_, $_ + 1) } reverse 1 .. 29),
	},
	{
		name => 'chain: ten views deep over a column whose type widens',
		a => join(";\n", 'CREATE TABLE t (id int PRIMARY KEY, n int)', 'CREATE VIEW v_10 AS SELECT id, n FROM t',
			map { sprintf('CREATE VIEW v_%02d AS SELECT id, n FROM v_%02d', $_, $_ + 1) } reverse 1 .. 9),
		b => join(";\n", 'CREATE TABLE t (id int PRIMARY KEY, n bigint)', 'CREATE VIEW v_10 AS SELECT id, n FROM t',
			map { sprintf('CREATE VIEW v_%02d AS SELECT id, n FROM v_%02d', $_, $_ + 1) } reverse 1 .. 9),
		data => q{INSERT INTO t VALUES (1, 5)},
		after => [ [ q{SELECT n FROM v_01}, '5' ] ],
	},
	{
		name => 'alembic: column renamed, widened and used by a view (renames)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, qty int); CREATE VIEW v AS SELECT id, qty FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, quantity bigint); CREATE VIEW v AS SELECT id, quantity FROM t},
		data => q{INSERT INTO t VALUES (1, 3)},
		renames => ['t.qty:t.quantity'],
		after => [ [ q{SELECT quantity FROM v}, '3' ] ],
	},

	{
		name => 'column: serial becomes identity',
		a => q{CREATE TABLE t (id serial PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)},
		data => q{INSERT INTO t (v) VALUES ('a'), ('b')},
		destructive => 1,    # drops the sequence: the identity starts again at 1
	},
	{
		name => 'column: identity becomes serial',
		a => q{CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id serial PRIMARY KEY, v text)},
		data => q{INSERT INTO t (v) VALUES ('a'), ('b')},
		destructive => 1,    # drops the identity's sequence: the new one starts again at 1
	},
	{
		name => 'function: polymorphic and VARIADIC arguments',
		a => q{CREATE FUNCTION first_of(VARIADIC xs anyarray) RETURNS anyelement LANGUAGE sql IMMUTABLE AS 'SELECT xs[1]'},
		b => q{CREATE FUNCTION first_of(VARIADIC xs anyarray) RETURNS anyelement LANGUAGE sql IMMUTABLE AS 'SELECT xs[array_lower(xs, 1)]';
		       CREATE FUNCTION pick(a anyelement, b anyelement, first boolean DEFAULT true) RETURNS anyelement
		           LANGUAGE sql IMMUTABLE AS 'SELECT CASE WHEN first THEN a ELSE b END'},
		after => [ [ q{SELECT first_of(3, 4) || pick('x'::text, 'y')}, '3x' ] ],
	},
	{
		name => 'comment: every comment removed',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW v AS SELECT id FROM t;
		       COMMENT ON TABLE t IS 't'; COMMENT ON COLUMN t.v IS 'v'; COMMENT ON VIEW v IS 'view';
		       COMMENT ON CONSTRAINT t_pkey ON t IS 'pk'; COMMENT ON INDEX t_pkey IS 'pk index'},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text); CREATE VIEW v AS SELECT id FROM t},
	},
	{
		name => 'an application\'s second version: many kinds changed at once',
		a => q{CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped');
		       CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE,
		           name text, created_at timestamptz NOT NULL DEFAULT now());
		       CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		           user_id bigint NOT NULL REFERENCES users, status order_status NOT NULL DEFAULT 'new',
		           total numeric(10,2) NOT NULL CHECK (total >= 0));
		       CREATE INDEX orders_user ON orders (user_id);
		       CREATE VIEW open_orders AS SELECT o.id, u.email, o.total FROM orders o JOIN users u ON u.id = o.user_id
		           WHERE o.status <> 'shipped';
		       CREATE FUNCTION order_count(uid bigint) RETURNS bigint LANGUAGE sql STABLE
		           AS 'SELECT count(*) FROM orders WHERE user_id = uid';
		       GRANT SELECT ON open_orders TO diffprop_reader},
		b => q{CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
		       CREATE DOMAIN money_amount AS numeric(12,2) CHECK (VALUE >= 0);
		       CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE,
		           name text NOT NULL DEFAULT '', created_at timestamptz NOT NULL DEFAULT now(), locale text DEFAULT 'en');
		       CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
		       CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		           user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE, status order_status NOT NULL DEFAULT 'new',
		           total numeric(12,2) NOT NULL CHECK (total >= 0), note text);
		       CREATE INDEX orders_user ON orders (user_id, status);
		       CREATE TABLE order_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		           order_id bigint NOT NULL REFERENCES orders ON DELETE CASCADE, at timestamptz NOT NULL DEFAULT now(),
		           status order_status NOT NULL);
		       CREATE FUNCTION log_status() RETURNS trigger LANGUAGE plpgsql AS $$
		       BEGIN INSERT INTO order_events (order_id, status) VALUES (NEW.id, NEW.status); RETURN NEW; END $$;
		       CREATE TRIGGER orders_status AFTER INSERT OR UPDATE OF status ON orders FOR EACH ROW EXECUTE FUNCTION log_status();
		       CREATE VIEW open_orders AS SELECT o.id, u.email, o.total, o.note FROM orders o JOIN users u ON u.id = o.user_id
		           WHERE o.status NOT IN ('shipped', 'cancelled');
		       CREATE FUNCTION order_count(uid bigint) RETURNS bigint LANGUAGE sql STABLE
		           AS 'SELECT count(*) FROM orders WHERE user_id = uid AND status <> ''cancelled''';
		       ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
		       CREATE POLICY own_orders ON orders TO diffprop_reader USING (user_id = 1);
		       GRANT SELECT ON open_orders TO diffprop_reader; GRANT SELECT ON orders, users TO diffprop_reader;
		       COMMENT ON TABLE order_events IS 'every status an order went through'},
		data => q{INSERT INTO users (email, name) VALUES ('a@x', 'Ann'), ('b@x', NULL);
		          UPDATE users SET name = 'Bob' WHERE name IS NULL;
		          INSERT INTO orders (user_id, status, total) VALUES (1, 'paid', 10.5), (2, 'new', 3)},
		after => [ [ q{UPDATE orders SET status = 'cancelled' WHERE id = 2; SELECT count(*) FROM order_events}, '1' ] ],
	},

	{
		name => 'constraints: a check and a foreign key added NOT VALID',
		a => q{CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int, pid int, qty int)},
		b => q{CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int, pid int, qty int);
		       ALTER TABLE c ADD CONSTRAINT c_qty CHECK (qty > 0) NOT VALID;
		       ALTER TABLE c ADD CONSTRAINT c_pid FOREIGN KEY (pid) REFERENCES p NOT VALID},
		data => q{INSERT INTO c VALUES (1, 99, -1)},
	},
	{
		name => 'trigger: ENABLE ALWAYS and ENABLE REPLICA; view: security_invoker',
		a => q{CREATE TABLE t (id int); CREATE VIEW v AS SELECT id FROM t;
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       CREATE TRIGGER t2 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()},
		b => q{CREATE TABLE t (id int); CREATE VIEW v WITH (security_invoker = true) AS SELECT id FROM t;
		       CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
		       CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       CREATE TRIGGER t2 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
		       ALTER TABLE t ENABLE ALWAYS TRIGGER t1; ALTER TABLE t ENABLE REPLICA TRIGGER t2},
	},
	{
		name => 'policy: FOR UPDATE with USING and WITH CHECK, one for PUBLIC',
		a => q{CREATE TABLE t (id int, owner name); ALTER TABLE t ENABLE ROW LEVEL SECURITY},
		b => q{CREATE TABLE t (id int, owner name); ALTER TABLE t ENABLE ROW LEVEL SECURITY;
		       CREATE POLICY upd ON t FOR UPDATE TO diffprop_writer USING (owner = current_user) WITH CHECK (owner = current_user);
		       CREATE POLICY sel ON t FOR SELECT TO PUBLIC USING (true)},
	},
	{
		name => 'grant: column privileges revoked, table privilege with grant option revoked',
		a => q{CREATE TABLE t (id int, v text, w text);
		       GRANT SELECT (v, w), UPDATE (w) ON t TO diffprop_writer; GRANT SELECT ON t TO diffprop_reader WITH GRANT OPTION},
		b => q{CREATE TABLE t (id int, v text, w text);
		       GRANT SELECT (v) ON t TO diffprop_writer; GRANT SELECT ON t TO diffprop_reader},
	},
	{
		name => 'sequence: type narrowed, bigint to integer',
		a => q{CREATE SEQUENCE s AS bigint},
		b => q{CREATE SEQUENCE s AS integer},
		destructive => 1,    # the range narrows
	},

	# the peers' failure shapes
	{
		name => 'migra #92 (and supabase/cli #3606): check constraint and index calling a function created in the same diff',
		a => q{CREATE TABLE users (id int PRIMARY KEY, avatar text)},
		b => q{CREATE FUNCTION z_is_allowed_host(url text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT AS $$
		       BEGIN RETURN url ~ '^https?://'; END $$;
		       CREATE TABLE users (id int PRIMARY KEY, avatar text,
		           CONSTRAINT users_avatar_check CHECK (avatar IS NULL OR z_is_allowed_host(avatar)));
		       CREATE INDEX users_ok ON users (z_is_allowed_host(avatar))},
		data => q{INSERT INTO users VALUES (1, 'https://x'), (2, NULL)},
	},
	{
		name => 'migra #7: view created over a view created in the same diff',
		a => q{CREATE TABLE t (id int PRIMARY KEY)},
		b => q{CREATE TABLE t (id int PRIMARY KEY);
		       CREATE VIEW z_base AS SELECT id FROM t; CREATE VIEW a_top AS SELECT id FROM z_base},
	},
	{
		name => 'migra #143: chain of views dropped',
		a => q{CREATE TABLE t (id int PRIMARY KEY);
		       CREATE VIEW view_a AS SELECT id FROM t; CREATE VIEW view_b AS SELECT id FROM view_a;
		       CREATE VIEW view_c AS SELECT id FROM view_b},
		b => q{CREATE TABLE t (id int PRIMARY KEY)},
	},
	{
		name => 'migra #92: table whose default calls a function created in the same diff',
		a => q{},
		b => q{CREATE FUNCTION best_number(OUT result bigint) RETURNS bigint LANGUAGE plpgsql AS $f$
		       DECLARE best_number bigint := 456; BEGIN result := best_number; END; $f$;
		       CREATE TABLE test (best_id bigint NOT NULL DEFAULT best_number(), name varchar(200) DEFAULT '')},
	},
	{
		name => 'migra #142: inheritance, parent and child created with a sequence default',
		a => q{},
		b => q{CREATE SEQUENCE ratings_id_seq;
		       CREATE TABLE ratings (tenant_id bigint NOT NULL, id bigint NOT NULL DEFAULT nextval('ratings_id_seq'::regclass),
		           score numeric(7,6) NOT NULL);
		       CREATE TABLE a_child_ratings (extra text) INHERITS (ratings)},
	},
	{
		name => 'migra #142: column added to an inheritance parent',
		a => q{CREATE TABLE ratings (id bigint NOT NULL); CREATE TABLE child (extra text) INHERITS (ratings)},
		b => q{CREATE TABLE ratings (id bigint NOT NULL, score int); CREATE TABLE child (extra text) INHERITS (ratings)},
		data => q{INSERT INTO child VALUES (1, 'e')},
	},
	{
		name => 'migra #8 and #196: functions calling functions, and a table default using one, all new',
		a => q{},
		b => q{CREATE FUNCTION z_inner(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';
		       CREATE FUNCTION a_outer(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT z_inner(x) * 2';
		       CREATE TABLE datasets (id int PRIMARY KEY, n int DEFAULT a_outer(1))},
		after => [ [ q{INSERT INTO datasets (id) VALUES (1) RETURNING n}, '4' ] ],
	},
	{
		name => 'pg-schema-diff #280: column type changed under a view',
		a => q{CREATE TABLE foo (id int, val text); CREATE VIEW foo_v AS SELECT id, val FROM foo},
		b => q{CREATE TABLE foo (id int, val varchar(100)); CREATE VIEW foo_v AS SELECT id, val FROM foo},
		data => q{INSERT INTO foo VALUES (1, 'a')},
		after => [ [ q{SELECT val FROM foo_v}, 'a' ] ],
		destructive => 1,    # text to varchar(100) narrows
	},
	{
		name => 'pg-schema-diff #281: SQL function whose body writes to a table created in the same diff',
		a => q{},
		b => q{CREATE TABLE z_events (id int GENERATED ALWAYS AS IDENTITY, msg text);
		       CREATE FUNCTION a_record(m text) RETURNS void LANGUAGE sql AS $$INSERT INTO z_events (msg) VALUES (m)$$},
		after => [ [ q{SELECT a_record('x'); SELECT count(*) FROM z_events}, "\n1" ] ],
	},
	{
		name => 'pg-schema-diff #191: function used as a default, both dropped',
		a => q{CREATE FUNCTION demo() RETURNS text LANGUAGE plpgsql AS $$BEGIN RETURN 'hi'; END$$;
		       CREATE TABLE demo2 (id int, demo3 text DEFAULT demo() NOT NULL)},
		b => q{CREATE TABLE demo2 (id int)},
		data => q{INSERT INTO demo2 (id) VALUES (1)},
		destructive => 1,
	},
	{
		name => 'pg-schema-diff #265: policy referencing a table created in the same diff',
		a => q{CREATE TABLE installs (id int PRIMARY KEY, cluster_id int)},
		b => q{CREATE TABLE installs (id int PRIMARY KEY, cluster_id int);
		       CREATE TABLE z_clusters (id int PRIMARY KEY, org text);
		       ALTER TABLE installs ENABLE ROW LEVEL SECURITY;
		       CREATE POLICY install_org ON installs USING (EXISTS (SELECT 1 FROM z_clusters c
		           WHERE c.id = installs.cluster_id AND c.org = current_setting('app.org', true)))},
		data => q{INSERT INTO installs VALUES (1, 1)},
	},
	{
		name => 'alembic: table renamed (renames)',
		a => q{CREATE TABLE old_t (id int PRIMARY KEY, v text); CREATE INDEX old_t_v ON old_t (v)},
		b => q{CREATE TABLE new_t (id int PRIMARY KEY, v text); CREATE INDEX old_t_v ON new_t (v)},
		data => q{INSERT INTO old_t VALUES (1, 'kept')},
		renames => ['old_t:new_t'],
		after => [ [ q{SELECT v FROM new_t}, 'kept' ] ],
	},
	{
		name => 'alembic: column renamed (renames)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, name text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, full_name text)},
		data => q{INSERT INTO t VALUES (1, 'Ann'), (2, NULL)},
		renames => ['t.name:t.full_name'],
		after => [ [ q{SELECT string_agg(coalesce(full_name, '-'), ',' ORDER BY id) FROM t}, 'Ann,-' ] ],
	},
	{
		name => 'alembic: column renamed under a view and an index (renames)',
		a => q{CREATE TABLE t (id int PRIMARY KEY, name text); CREATE INDEX t_name ON t (name);
		       CREATE VIEW v AS SELECT name FROM t},
		b => q{CREATE TABLE t (id int PRIMARY KEY, full_name text); CREATE INDEX t_name ON t (full_name);
		       CREATE VIEW v AS SELECT full_name AS name FROM t},
		data => q{INSERT INTO t VALUES (1, 'Ann')},
		renames => ['t.name:t.full_name'],
		after => [ [ q{SELECT name FROM v}, 'Ann' ] ],
	},
	{
		name => 'alembic: renamed table without renames is a drop and a create',
		a => q{CREATE TABLE old_t (id int PRIMARY KEY)},
		b => q{CREATE TABLE new_t (id int PRIMARY KEY)},
		destructive => 1,
	},
);

# ---------------------------------------------------------------------------

# Runs SQL returning one JSON value; returns it decoded.
sub sql_json
{
	my ($sql) = @_;
	return decode_json(sql($sql));
}

# A schema model (JSON rows of schema s) as a hash "kind identity" =>
# definition, with the schema's name written @S@, without the table's column
# order (not a property the diff keeps: an added column comes last).
sub model
{
	my ($s, $rows) = @_;
	my %m;
	for my $r (@$rows)
	{
		my ($kind, $identity, $definition) = map { s/\b\Q$s\E\b/\@S\@/gr } @$r;
		$definition =~ s/^columns .*\n?//m if $kind eq 'table';
		$m{"$kind $identity"} = $definition;
	}
	return \%m;
}

# The lines that differ between two models, for a failure message.
sub model_diff
{
	my ($x, $y) = @_;
	my @out;
	for my $k (sort { $a cmp $b } keys %{ { %$x, %$y } })
	{
		next if defined $x->{$k} && defined $y->{$k} && $x->{$k} eq $y->{$k};
		push @out, "- $k: " . ($x->{$k} // '(absent)') =~ s/\n/ | /gr;
		push @out, "+ $k: " . ($y->{$k} // '(absent)') =~ s/\n/ | /gr;
	}
	return join("\n", @out);
}

# The renames of a case as an SQL array.
sub renames_sql
{
	my ($case) = @_;
	return 'ARRAY[' . join(', ', map { lit($_) } @{ $case->{renames} // [] }) . ']::text[]';
}

# SQL for the rows of diff(from, to) as JSON, with allow_destructive unless
# $destructive is given and false.
sub rows_sql
{
	my ($from, $to, $case, $destructive) = @_;
	return "public.diffprop_rows(@{[lit($from)]}, @{[lit($to)]}, " . renames_sql($case) . ', '
	  . ($destructive // 1 ? 'true' : 'false') . ')';
}

# The number of rows of a diff (rows_sql's result), or its error.
sub count_of
{
	my ($rows) = @_;
	return ref($rows) eq 'ARRAY' ? scalar(@$rows) : "error: $rows->{error}";
}

# The statements of one direction, for running.
sub script
{
	my ($rows, $direction) = @_;
	return join("\n", map { $_->[4] } grep { $_->[0] eq $direction } @$rows);
}

# The rows of a diff, for a failure message.
sub listing
{
	my ($rows) = @_;
	return join("\n", map { "  $_->[0] $_->[1] [$_->[2] $_->[3]] $_->[4]" } @$rows) || '  (no rows)';
}

# The columns A and B define alike (same table, same definition, neither
# renamed, not of a composite type that changes: its values' text does), as
# table.column.
sub untouched_columns
{
	my ($ma, $mb, $case) = @_;
	my %renamed = map { (split /:/)[0] => 1 } @{ $case->{renames} // [] };
	my @cols;
	for my $k (sort keys %$ma)
	{
		next unless $k =~ /^column \@S\@\.(.+)\.([^.]+)$/;
		my ($t, $c) = ($1, $2);
		next if $renamed{$t} || $renamed{"$t.$c"};
		next unless defined $mb->{$k} && $mb->{$k} eq $ma->{$k};
		next unless defined $mb->{"table \@S\@.$t"};
		my ($type) = $ma->{$k} =~ /^type (\S+?)(?:\[\])*$/m;
		my $composite = "composite type " . ($type // '');
		next if defined $ma->{$composite} && ($mb->{$composite} // '') ne $ma->{$composite};
		push @cols, "$t.$c";
	}
	return @cols;
}

# The SQL creating schema s from a case's SQL (and data).
sub instance_sql
{
	my ($s, $body, $data) = @_;
	my $sqltext = "CREATE SCHEMA $s;\nSET search_path = $s, public;\n$body;\n" . (defined $data ? "$data;\n" : '')
	  . "RESET search_path;\n";
	return $sqltext =~ s/\@S\@/$s/gr;
}

# The SQL creating the schemas a, b and c of a case.
sub instances_sql
{
	my ($case, $a, $b, $c) = @_;
	return instance_sql($a, $case->{a}) . instance_sql($b, $case->{b}) . instance_sql($c, $case->{a}, $case->{data});
}

# Creates the schemas a, b and c of a case; stops if its SQL fails.
sub instantiate
{
	my ($case, @s) = @_;
	my ($ok, $out, $err) = try_sql(instances_sql($case, @s));
	BAIL_OUT("case \"$case->{name}\": its SQL fails: $err") unless $ok;
	return;
}

# Runs case number $n in new schemas $a, $b and $c, removed at the end (the
# catalog stays small, so each diff reads about as much as the first), and
# collects what its properties need: the first query's results (pre), the
# up statements' outcome (up), what follows them (post_up, after), the down
# statements' outcome (down) and what follows them (post_down).  Runs in a
# worker process: no assertion here.
sub collect_case
{
	my ($n, $case) = @_;
	my ($a, $b, $c) = map { sprintf('c%03d%s', $n, $_) } qw(a b c);
	my ($la, $lb, $lc) = map { lit($_) } ($a, $b, $c);
	my %r = (a => $a, b => $b, c => $c);
	# A case that drops or narrows nothing gets its rows without
	# allow_destructive, which checks that it is not refused; the others
	# are called once more without it, to see the refusal.  (Each diff call
	# costs: the diff and diff(a, a) of a 1-table schema take 40 ms.)
	my $d = $case->{destructive} ? 1 : 0;
	my $refusal =
	  $d
	  ? 'public.diffprop_error('
	  . lit("SELECT count(*) FROM migrate.diff($la, $lb, renames => " . renames_sql($case) . ', allow_destructive => false)')
	  . ')'
	  : "'ok'";
	# the schemas and the first query in one psql: one process less per case
	my ($created, $pre_out, $create_err) = try_sql(instances_sql($case, $a, $b, $c) .
		qq{SELECT json_build_object('aa', @{[rows_sql($a, $a, {})]}, 'bb', @{[rows_sql($b, $b, {})]},
		    'refusal', $refusal,
		    'rows', @{[rows_sql($c, $b, $case, $d)]}, 'again', @{[rows_sql($c, $b, $case, $d)]},
		    'froma', @{[rows_sql($a, $b, $case, $d)]},
		    'ma', public.diffprop_model($la), 'mb', public.diffprop_model($lb),
		    'before', public.diffprop_colsums($lc))});
	if (!$created)
	{
		$r{create_error} = $create_err;
		return \%r;
	}
	$r{pre} = decode_json($pre_out);
	my $rows = $r{pre}{rows};
	if (ref($rows) eq 'ARRAY')
	{
		# in one transaction, as psql -1 runs them; the query after them in
		# the same psql (its JSON is the last line)
		$r{up} = [
			try_sql(
				"BEGIN;\n" . script($rows, 'up') . "\nCOMMIT;\n"
				  . qq{SELECT json_build_object('cb', @{[rows_sql($c, $b, {})]}, 'mc', public.diffprop_model($lc),
				         'after', public.diffprop_colsums($lc));})
		];
	}
	if ($r{up} && $r{up}[0])
	{
		$r{post_up} = decode_json((split /\n/, $r{up}[1])[-1]);
		for my $check (@{ $case->{after} // [] })
		{
			# rolled back: the data stays as the up left it
			push @{ $r{after} }, [ try_sql("BEGIN;\nSET LOCAL search_path = $c, public;\n$check->[0];\nROLLBACK;") ];
		}
		$r{down} = [
			try_sql(
				"BEGIN;\n" . script($rows, 'down') . "\nCOMMIT;\n"
				  . qq{SELECT json_build_object('ca', @{[rows_sql($c, $a, {})]}, 'mc', public.diffprop_model($lc),
				         'after', public.diffprop_colsums($lc));
				       DROP SCHEMA $a, $b, $c CASCADE;})
		];
	}
	if ($r{down} && $r{down}[0])
	{
		$r{post_down} = decode_json((split /\n/, $r{down}[1])[-1]);
	}
	else
	{
		sql("DROP SCHEMA $a, $b, $c CASCADE");
	}
	return \%r;
}

# Checks one case's properties on what collect_case() collected (a subtest).
sub check_case
{
	my ($case, $r) = @_;
	my ($a, $b, $c, $pre) = @$r{qw(a b c pre)};
	BAIL_OUT("case \"$case->{name}\": its SQL fails: $r->{create_error}") if defined $r->{create_error};
	my ($ma, $mb) = (model($a, $pre->{ma}), model($b, $pre->{mb}));
	isnt(model_diff($ma, $mb), '', 'the case is not vacuous: A and B differ');
	is(count_of($pre->{aa}), 0, 'diff(a, a) is empty');
	is(count_of($pre->{bb}), 0, 'diff(b, b) is empty');

	# refused without allow_destructive exactly when it drops or narrows
	my $rows = $pre->{rows};
	if ($case->{destructive})
	{
		like($pre->{refusal}, qr/^$DESTRUCTIVE_SQLSTATE /, "refused without allow_destructive ($DESTRUCTIVE_SQLSTATE)");
	}
	else
	{
		is(ref($rows) eq 'ARRAY' ? 'ok' : $rows->{error}, 'ok', 'not refused without allow_destructive');
	}
	if (ref($rows) ne 'ARRAY')
	{
		fail("diff(c, b) fails: $rows->{error}");
		return;
	}
	my $shown = "statements of diff($c, $b):\n" . listing($rows);
	is_deeply($pre->{again}, $rows, 'diff(c, b) gives the same rows on a second call') or diag($shown);
	# a and c hold the same objects under other OIDs: an order that leaks
	# from the catalog would show here
	my $froma = ref($pre->{froma}) eq 'ARRAY' ? [ map { [ map { s/\b$a\b/$c/gr } @$_ ] } @{ $pre->{froma} } ] : $pre->{froma};
	is_deeply($froma, $rows, 'diff(a, b) gives the same rows, a named for c (the same on another copy of A)')
	  or diag($shown);
	my @ordinals = map { [ $_->[0], $_->[1] ] } @$rows;
	my @expected_ordinals = (
		(map { [ 'up', $_ ] } 1 .. scalar(grep { $_->[0] eq 'up' } @$rows)),
		(map { [ 'down', $_ ] } 1 .. scalar(grep { $_->[0] eq 'down' } @$rows)));
	is_deeply(\@ordinals, \@expected_ordinals, 'ordinals run 1..n in each direction') or diag($shown);
	is(scalar(grep { $_->[4] !~ /;\s*\z/ } @$rows), 0, 'every statement ends with a semicolon') or diag($shown);
	is(scalar(grep { "$_->[3] $_->[4]" =~ /\b$b\b/ } @$rows), 0, 'no identity or statement names the to schema')
	  or diag($shown);

	ok($r->{up}[0], 'the up statements run in one transaction') or diag("$r->{up}[2]\n$shown");
	return unless $r->{up}[0];
	my $post = $r->{post_up};
	is(count_of($post->{cb}), 0, 'after up: diff(c, b) is empty') or diag($shown);
	is(model_diff(model($c, $post->{mc}), $mb), '', 'after up: the model of c is the model of b') or diag($shown);
	my @cols = untouched_columns($ma, $mb, $case);
	is_deeply(
		{ map { $_ => $post->{after}{$_} } @cols },
		{ map { $_ => $pre->{before}{$_} } @cols },
		'after up: the data of the columns the diff does not touch is intact (' . scalar(@cols) . ' columns)')
	  or diag($shown);
	my $i = 0;
	for my $check (@{ $case->{after} // [] })
	{
		my ($ok, $out, $err) = @{ $r->{after}[ $i++ ] };
		is($ok ? $out : "error: $err", $check->[1], "after up: $check->[0]") or diag($shown);
	}

	ok($r->{down}[0], 'the down statements run in one transaction') or diag("$r->{down}[2]\n$shown");
	return unless $r->{down}[0];
	my $down = $r->{post_down};
	is(count_of($down->{ca}), 0, 'after down: diff(c, a) is empty') or diag($shown);
	is(model_diff(model($c, $down->{mc}), $ma), '', 'after down: the model of c is the model of a') or diag($shown);
	is_deeply(
		{ map { $_ => $down->{after}{$_} } @cols },
		{ map { $_ => $post->{after}{$_} } @cols },
		'after down: the data of those columns is still intact') or diag($shown);
	return;
}

# The cases run by $JOBS worker processes (each a share of them, in order,
# in a database of its own made from this one), which write what they
# collect to files; this process then checks them in order.  The diff is
# CPU-bound in the server: two cases at a time use both cores of a small
# machine.  (Separate databases: a diff must not see another session's DDL
# in other schemas, but it did, D15; the property tests here are about
# one session.)
my $JOBS = $ENV{DIFFPROP_JOBS} // 3;
sql("CREATE DATABASE diffprop_w$_ TEMPLATE postgres") for 0 .. $JOBS - 1;
my $results = PostgreSQL::Test::Utils::tempdir;
# DIFFPROP_RUN_KNOWN=1 runs the known engine bugs all the same, to see
# whether a fix works
my @run = grep { !$known_engine_bugs{ $cases[$_]{name} } || $ENV{DIFFPROP_RUN_KNOWN} } 0 .. $#cases;
my @workers;
for my $job (0 .. $JOBS - 1)
{
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		# DIFFPROP_SHARED_DB=1: all in one database, as D15 was seen
		$db = "diffprop_w$job" unless $ENV{DIFFPROP_SHARED_DB};
		for my $i (grep { $_ % $JOBS == $job } @run)
		{
			my $r = eval { collect_case($i + 1, $cases[$i]) } // { create_error => "the worker died: $@" };
			open my $fh, '>', "$results/$i.json" or die "$results/$i.json: $!";
			print $fh encode_json($r);
			close $fh;
		}
		# no END blocks: they belong to the parent (its node, its test plan)
		POSIX::_exit(0);
	}
	push @workers, $pid;
}
waitpid($_, 0) for @workers;

for my $i (0 .. $#cases)
{
	my $case = $cases[$i];
	if (!grep { $_ == $i } @run)
	{
	  SKIP:
		{
			skip("known engine bug ($known_engine_bugs{ $case->{name} }): $case->{name}", 1);
		}
		next;
	}
	open my $fh, '<', "$results/$i.json" or BAIL_OUT("case \"$case->{name}\": no result ($!)");
	my $r = decode_json(do { local $/; <$fh> });
	close $fh;
	subtest($case->{name}, sub { check_case($case, $r) });
}

# Schemas for the last checks: x with tables t and u, y without u.
sql(instance_sql('xa', q{CREATE TABLE t (id int); CREATE TABLE u (id int)}) . instance_sql('xb', q{CREATE TABLE t (id int)}));

# The arguments diff refuses, with their SQLSTATE.
for my $bad (
	[ q{migrate.diff('no_such_schema', 'xa')}, '3F000', 'an unknown from schema' ],
	[ q{migrate.diff('xa', 'no_such_schema')}, '3F000', 'an unknown to schema' ],
	[ q{migrate.diff(NULL, 'xa')}, '22004', 'a NULL from schema' ],
	[ q{migrate.diff('xa', NULL)}, '22004', 'a NULL to schema' ],
	[ q{migrate.diff('xa', 'xb', renames => NULL)}, '22004', 'NULL renames' ],
	[ q{migrate.diff('xa', 'xb', allow_destructive => NULL)}, '22004', 'a NULL allow_destructive' ])
{
	my ($call, $state, $what) = @$bad;
	like(sql('SELECT public.diffprop_error(' . lit("SELECT count(*) FROM $call") . ')'),
		qr/^$state /, "diff refuses $what with $state");
}

# The refusal names what the diff drops or narrows.
like(
	sql('SELECT public.diffprop_error(' . lit("SELECT count(*) FROM migrate.diff('xa', 'xb')") . ')'),
	qr/^$DESTRUCTIVE_SQLSTATE .*\nDETAIL: .*\bxa\.u\b/s,
	'the refusal of a dropped table names the table in its detail');

# autogenerate(): a revision whose up SQL is diff's up statements in order
# and whose down SQL the down statements, the head as parent; nothing runs
# until it is deployed, which turns the from schema into the to schema; its
# revert turns it back.
{
	my $case = {
		name => 'autogenerate',
		a => q{CREATE TABLE t (id int PRIMARY KEY, v text)},
		b => q{CREATE TABLE t (id int PRIMARY KEY, v text, w int DEFAULT 0);
		       CREATE INDEX t_w ON t (w); CREATE VIEW tv AS SELECT id, w FROM t},
	};
	instantiate($case, 'ag_a', 'ag_b', 'ag_c');
	sql(q{SELECT migrate.add('ag0', 'SELECT 1', 'SELECT 1')});
	my $rows = sql_json('SELECT ' . rows_sql('ag_a', 'ag_b', {}));
	is(sql(q{SELECT migrate.autogenerate('ag1', 'add w', from_schema => 'ag_a', to_schema => 'ag_b')}),
		'ag1', 'autogenerate() returns the id');
	my $show = sql_json(q{SELECT row_to_json(s) FROM migrate.show('ag1') s});
	is_deeply($show->{parents}, ['ag0'], 'its parent is the head');
	is($show->{message}, 'add w', 'with the message');
	for my $direction (qw(up down))
	{
		my $text = $show->{"${direction}_sql"};
		my ($pos, $in_order) = (0, 1);
		for my $st (map { $_->[4] } grep { $_->[0] eq $direction } @$rows)
		{
			my $at = index($text, $st, $pos);
			$in_order = 0, last if $at < 0;
			$pos = $at + length($st);
		}
		ok($in_order && $text =~ /\S/, "its $direction SQL holds diff's $direction statements in order")
		  or diag("$direction SQL:\n$text\nstatements:\n" . listing($rows));
	}
	is(sql(q{SELECT count(*) FROM migrate.applied WHERE revision = 'ag1'}), '0', 'nothing ran');
	is(sql(q{SELECT string_agg(operation, ',' ORDER BY id) FROM migrate.history WHERE revision = 'ag1'}),
		'add', 'registered as add() registers: one history row add');
	my $lint = q{SELECT coalesce(string_agg(rule || ' ' || severity || ' ' || coalesce(relation, ''), ', '
	                                        ORDER BY rule, line), '') FROM };
	my $findings = sql($lint . q{migrate.lint('ag1')});
	like($findings, qr/require-concurrent-index-creation/, 'linted like any revision: CREATE INDEX on a table that exists');
	is($findings, sql($lint . 'migrate.lint_sql(' . lit($show->{up_sql}) . ')'),
		'its findings are those of its up SQL as lint_sql() sees it');
	sql(q{CALL migrate.deploy('ag1')});
	is(count_of(sql_json('SELECT ' . rows_sql('ag_a', 'ag_b', {}))), 0, 'deployed, ag_a is like ag_b');
	sql(q{CALL migrate.revert('ag0')});    # back to ag0: undoes ag1
	is(count_of(sql_json('SELECT ' . rows_sql('ag_a', 'ag_c', {}))), 0, 'reverted, ag_a is as before');
	like(
		sql(q{SELECT public.diffprop_error('SELECT migrate.autogenerate(''ag2'', from_schema => ''xa'', to_schema => ''xb'')')}),
		qr/^$DESTRUCTIVE_SQLSTATE /,
		'autogenerate() refuses a destructive diff without allow_destructive');
}

done_testing();
