-- Builds a graph of :n revisions in blocks of ten: a fork after the first
-- revision of each block, two chains of four, and a merge closing the block.
-- Run by bench/graph; times are measured in the server with clock_timestamp().
\set QUIET on
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migrate CASCADE;
CREATE EXTENSION migrate;
CREATE TEMP TABLE bench_result (metric text, n int, ms numeric);

DO $$
DECLARE
  n int := current_setting('bench.n')::int;
  t0 timestamptz := clock_timestamp();
  prev text := NULL;
  block_root text;
  a text;
  b text;
  id text;
BEGIN
  FOR i IN 0 .. n - 1 LOOP
    id := 'r' || lpad(i::text, 7, '0');
    CASE i % 10
      WHEN 0 THEN
        PERFORM migrate.add(id, '', '', parents => CASE WHEN prev IS NULL THEN '{}'::text[] ELSE ARRAY[prev] END);
        block_root := id; a := id; b := id;
      WHEN 1, 2, 3, 4 THEN
        PERFORM migrate.add(id, '', '', parents => ARRAY[a]);
        a := id;
      WHEN 5, 6, 7, 8 THEN
        PERFORM migrate.add(id, '', '', parents => ARRAY[b]);
        b := id;
      ELSE
        PERFORM migrate.add(id, '', '', parents => ARRAY[a, b], message => 'merge');
        prev := id;
    END CASE;
  END LOOP;
  INSERT INTO bench_result VALUES ('register', n, extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;

-- plan from base: the whole graph in topological order
DO $$
DECLARE
  n int := current_setting('bench.n')::int;
  t0 timestamptz;
  steps int;
BEGIN
  FOR run IN 1 .. 3 LOOP
    t0 := clock_timestamp();
    SELECT count(*) INTO steps FROM migrate.plan('upgrade', 'head');
    INSERT INTO bench_result VALUES ('plan_from_base', n, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
  IF steps <> n THEN RAISE EXCEPTION 'plan has % steps, expected %', steps, n; END IF;
END $$;

-- mark everything applied without running SQL, then time a no-op upgrade
SELECT FROM migrate.stamp('head');
-- what autovacuum does soon after a registration of this size
VACUUM ANALYZE migrate.revision, migrate.revision_head, migrate.applied, migrate.history;
DO $$
DECLARE
  n int := current_setting('bench.n')::int;
  t0 timestamptz;
  steps int;
BEGIN
  FOR run IN 1 .. 5 LOOP
    t0 := clock_timestamp();
    SELECT count(*) INTO steps FROM migrate.upgrade('head');
    INSERT INTO bench_result VALUES ('noop_upgrade', n, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
  IF steps <> 0 THEN RAISE EXCEPTION 'no-op upgrade applied % revisions', steps; END IF;
END $$;

-- merge() of every graph head: min(n, 10000) heads (10000 is the list limit,
-- MIGRATE_MAX_LIST_NAMES), the roots added here and the graph's own head;
-- median of 3, each merge rolled back
DO $$
DECLARE
  n int := current_setting('bench.n')::int;
  t0 timestamptz;
  ms numeric;
BEGIN
  FOR i IN 1 .. least(n, 10000) - 1 LOOP
    PERFORM migrate.add('h' || lpad(i::text, 7, '0'), '', '', parents => '{}');
  END LOOP;
  FOR run IN 1 .. 3 LOOP
    BEGIN
      t0 := clock_timestamp();
      PERFORM migrate.merge(id => 'bench_merge');
      ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
      RAISE EXCEPTION 'roll the merge back';
    EXCEPTION WHEN raise_exception THEN
      INSERT INTO bench_result VALUES ('merge_heads', n, ms);
    END;
  END LOOP;
END $$;

\pset format unaligned
\pset tuples_only on
SELECT metric || ' ' || n || ' ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2)
  FROM bench_result GROUP BY metric, n ORDER BY metric;
DROP EXTENSION migrate;
