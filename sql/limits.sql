-- Limits: a name list (parents, depends_on, branch_labels, the header lists
-- of a migration file, the revisions of a merge) holds at most 10000 names
-- (MIGRATE_MAX_LIST_NAMES); a longer one is refused (22023) before any work
-- on its names, and one up to the limit is checked in O(n log n).  merge()
-- marks the ancestry of all its revisions together, in linear time and
-- memory.  statement_timeout turns a regression to quadratic work into a
-- failure instead of a hang; nothing here is timed otherwise.
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
SET statement_timeout = '5s';
CREATE VIEW graph AS
  SELECT (SELECT count(*) FROM migrate.heads()) AS heads,
         (SELECT array_agg(h ORDER BY h COLLATE "C")
            FROM (SELECT h FROM migrate.heads() AS h ORDER BY h COLLATE "C" LIMIT 4) s) AS first_heads,
         (SELECT count(*) FROM migrate.revision) AS revisions;

SELECT migrate.add('r0', '', parents => '{}');

-- Invalid input: one name over the limit, in each list
SELECT migrate.add('big', '', parents => (SELECT array_agg('x' || i) FROM generate_series(1, 10001) i));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.add('big', '', parents => '{r0}',
                   depends_on => (SELECT array_agg('x' || i) FROM generate_series(1, 10001) i));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.add('big', '', parents => '{r0}',
                   branch_labels => (SELECT array_agg('x' || i) FROM generate_series(1, 10001) i));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: far over the limit, refused as fast (quadratic before: ~55 s)
SELECT migrate.add('big', '', parents => (SELECT array_agg('x' || i) FROM generate_series(1, 200000) i));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: exactly at the limit, the last name repeating the first
SELECT migrate.add('big', '', parents => (SELECT array_agg('x' || i) FROM generate_series(1, 9999) i) || '{x1}'::text[]);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.add('big', '', parents => '{r0}',
                   depends_on => (SELECT array_agg('x' || i) FROM generate_series(1, 9999) i) || '{x5000}'::text[]);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- the first name, in list order, that repeats an earlier one is reported
SELECT migrate.add('big', '', parents => '{b,a,c,a,b}');
-- an invalid name before the repetition is reported first, one after it is not
SELECT migrate.add('big', '', parents => '{a,bad/id,a}');
SELECT migrate.add('big', '', parents => '{a,a,bad/id}');
SELECT migrate.add('big', '', parents => ARRAY[repeat('y', 200), repeat('y', 200)]);

-- at the limit, distinct names are checked, then refused at the first
-- missing parent (10000 lookups, no quadratic work)
SELECT migrate.add('big', '', parents => (SELECT array_agg('x' || i ORDER BY i) FROM generate_series(1, 10000) i));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.add('big', '', parents => '{r0}',
                   depends_on => (SELECT array_agg('x' || i ORDER BY i) FROM generate_series(1, 10000) i));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Invalid input: a migration file whose parents header lists too many names
SELECT migrate.add_script(E'-- migrate:revision big\n-- migrate:parents '
                          || (SELECT string_agg('x' || i, ' ') FROM generate_series(1, 10001) i)
                          || E'\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- "base" is no name: at the limit with it, the file reaches the parent check
SELECT migrate.add_script(E'-- migrate:revision big\n-- migrate:parents base '
                          || (SELECT string_agg('x' || i, ' ') FROM generate_series(1, 10000) i)
                          || E'\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Invalid input: too many depends_on and branch_labels in a file
SELECT migrate.add_script(E'-- migrate:revision big\n-- migrate:parents r0\n-- migrate:depends_on '
                          || (SELECT string_agg('x' || i, ' ') FROM generate_series(1, 10001) i)
                          || E'\n-- migrate:up\n');
SELECT migrate.add_script(E'-- migrate:revision big\n-- migrate:parents r0\n-- migrate:branch_labels '
                          || (SELECT string_agg('x' || i, ' ') FROM generate_series(1, 10001) i)
                          || E'\n-- migrate:up\n');
-- nothing of the refused calls remains
SELECT * FROM graph;
SELECT operation, revision FROM migrate.history ORDER BY id;

-- merge: a1, b1 and d1 fork from r0; c1 depends on a1
SELECT migrate.add('a1', '', parents => '{r0}');
SELECT migrate.add('b1', '', parents => '{r0}');
SELECT migrate.add('c1', '', parents => '{r0}', depends_on => '{a1}');
SELECT migrate.add('d1', '', parents => '{r0}');
-- Check violation: the first revision, in the order given, that descends
-- from another is named with the first such other
SELECT migrate.merge(ARRAY['b1', 'r0']);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.merge(ARRAY['c1', 'b1', 'a1']);
SELECT migrate.merge(ARRAY['b1', 'd1', 'r0', 'a1', 'c1']);
SELECT migrate.merge(ARRAY['d1', 'c1', 'a1', 'r0']);
-- Invalid input: one distinct revision, given three times
SELECT migrate.merge(ARRAY['b1', 'b1', 'b1']);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- duplicates in the revisions: each revision once, in the order first given
SELECT migrate.merge(ARRAY['d1', 'b1', 'd1', 'b1', 'd1'], id => 'm1');
SELECT parents FROM migrate.revision WHERE id = 'm1';
-- merge of several heads: every graph head, in id order
SELECT migrate.remove('c1');
SELECT * FROM graph;
SELECT migrate.merge(id => 'm2');
SELECT parents FROM migrate.revision WHERE id = 'm2';
SELECT * FROM graph;

-- Invalid input: more revisions than a merge joins, refused before they are
-- resolved (none of these exists)
SELECT migrate.merge((SELECT array_agg('x' || i) FROM generate_series(1, 10001) i));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- 3000 heads merged at once: one search over the graph, not one per head
-- (before, a mark array per head: 1.65 GB at 40,000 heads)
SET statement_timeout = '60s';
SELECT count(migrate.add('h' || i, '', parents => '{}')) FROM generate_series(1, 3000) i;
SET statement_timeout = '5s';
SELECT migrate.merge(id => 'all_heads');
SELECT cardinality(parents) AS parents, parents[1:3] AS first, parents[3000:] AS last
  FROM migrate.revision WHERE id = 'all_heads';
SELECT * FROM graph;

-- Invalid input: merge() of more heads than a merge joins, refused clearly.
-- The catalog rows are written directly, as only the head count matters.
INSERT INTO migrate.revision (id, up_sql, checksum, created_at, created_by)
  SELECT 'z' || i, '', '', now(), current_user FROM generate_series(1, 10000) i;
INSERT INTO migrate.revision_head SELECT 'z' || i FROM generate_series(1, 10000) i;
SELECT migrate.merge();
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT * FROM graph;

RESET statement_timeout;
DROP VIEW graph;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
