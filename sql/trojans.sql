SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- Trojans: functions, operators, an aggregate and temp tables planted where
-- a careless internal query would resolve them (public.sha256(bytea),
-- public.now(), public.nextval(regclass), public.= and public.~ for text
-- that log and return true, public.<> and public.@> that raise, public.||
-- for text[], public.unnest(text[]), public.count(*), public.current_database(),
-- temp tables pg_temp.revision, applied, history and revision_head with rows
-- in them), with search_path = pg_temp, public, pg_catalog, and the extension
-- installed while they are there.  The same scenario (add, replace, remove,
-- merge, upgrade, downgrade, stamp, a failing deploy, verify, check, status,
-- the listings) runs first without them and then with them: the printed
-- results are the same, the catalogs after each step are the same (compared
-- in SQL, checksums included), and no trojan ran (each one logs to
-- public.trojan_log or raises).  Revision SQL runs with the caller's
-- search_path by design, so the scenario's revisions qualify their names.
-- The scenario lives in sql/include/trojan_scenario.sql (read from the
-- directory pg_regress runs in, the repository root) and runs twice.
\set VERBOSITY default

-- What the catalogs and the read functions say after each step, as text;
-- compared between the phases, never printed.  Runs with a safe search_path.
CREATE TEMP TABLE observed (phase text, step int, what text, result text);
CREATE FUNCTION pg_temp.snap(p_phase text, p_step int) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  INSERT INTO pg_temp.observed
  SELECT p_phase, p_step, v.what, v.result FROM (VALUES
    ('revision', (SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s', r.id, r.parents, r.depends_on,
                          r.branch_labels, r.message, r.up_sql, r.down_sql, r.checksum, r.created_by),
                          ';' ORDER BY r.id COLLATE "C") FROM migrate.revision r)),
    ('revision_head', (SELECT string_agg(h.revision, ',' ORDER BY h.revision COLLATE "C")
                         FROM migrate.revision_head h)),
    ('applied', (SELECT string_agg(format('%s|%s|%s', a.revision, a.checksum, a.applied_by),
                         ',' ORDER BY a.revision COLLATE "C") FROM migrate.applied a)),
    ('history', (SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', h.op, h.operation, h.revision,
                          h.target, h.success, h.sqlstate, h.error, h.checksum, h.session_role,
                          h.effective_role), ';' ORDER BY h.id)
                   FROM (SELECT x.*, dense_rank() OVER (ORDER BY x.operation_id) AS op
                           FROM migrate.history x) h)),
    ('chain', (SELECT format('%s|%s', bool_and(CASE WHEN c.n = 1 THEN c.prev_hash IS NULL
                                                    ELSE c.prev_hash = c.prev END),
                             count(DISTINCT c.hash) = count(*))
                 FROM (SELECT x.prev_hash, x.hash, lag(x.hash) OVER w AS prev, row_number() OVER w AS n
                         FROM migrate.history x WINDOW w AS (ORDER BY x.id)) c)),
    ('current', (SELECT string_agg(c, ',' ORDER BY c COLLATE "C") FROM migrate.current() c)),
    ('heads', (SELECT string_agg(c, ',' ORDER BY c COLLATE "C") FROM migrate.heads() c)),
    ('revisions', (SELECT string_agg(format('%s|%s|%s|%s|%s', r.revision, r.parents, r.is_applied,
                          r.is_head, r.is_current), ';') FROM migrate.revisions() r)),
    ('status', (SELECT format('%s|%s|%s|%s|%s|%s', s.current_heads, s.heads, s.pending, s.up_to_date,
                              s.lock_holder_pid, s.last_deploy_by) FROM migrate.status s)),
    ('verify', (SELECT string_agg(format('%s|%s|%s', v.problem, v.revision, v.detail), ';')
                  FROM migrate.verify() v)),
    ('upgrade_sql', (SELECT migrate.upgrade_sql('heads'))),
    ('tables', (SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_catalog.pg_class c
                 WHERE c.relname LIKE 't\_tr%' AND c.relpersistence = 'p'))
  ) AS v(what, result);
END $$;

-- Phase 1: no trojans.
\set phase clean
\i sql/include/trojan_scenario.sql

-- Phase 2.  The trojans: each logs to public.trojan_log or raises.
CREATE TABLE public.trojan_log (trojan text NOT NULL);
CREATE FUNCTION public.sha256(bytea) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('sha256'); RETURN '\x00'::bytea; END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('now'); RETURN '2000-01-01 00:00:00+00'; END $$;
CREATE FUNCTION public.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('nextval'); RETURN 1; END $$;
CREATE FUNCTION public.current_database() RETURNS name LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('current_database'); RETURN 'postgres'; END $$;
CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('unnest'); RETURN NEXT 'trojan'; END $$;
CREATE FUNCTION public.trojan_texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('='); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.trojan_texteq);
CREATE FUNCTION public.trojan_textmatch(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('~'); RETURN true; END $$;
CREATE OPERATOR public.~ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.trojan_textmatch);
CREATE FUNCTION public.trojan_textne(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'trojan <> ran'; END $$;
CREATE OPERATOR public.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = public.trojan_textne);
CREATE FUNCTION public.trojan_contains(text[], text[]) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'trojan @> ran'; END $$;
CREATE OPERATOR public.@> (LEFTARG = text[], RIGHTARG = text[], FUNCTION = public.trojan_contains);
CREATE FUNCTION public.trojan_concat(text[], text[]) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('||'); RETURN '{}'; END $$;
CREATE OPERATOR public.|| (LEFTARG = text[], RIGHTARG = text[], FUNCTION = public.trojan_concat);
CREATE FUNCTION public.trojan_count(bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('count'); RETURN $1 + 1; END $$;
CREATE AGGREGATE public.count(*) (SFUNC = public.trojan_count, STYPE = bigint, INITCOND = '100');
-- temp tables named like the catalogs, with rows, and trojan functions in
-- pg_temp (never searched for functions, but planted anyway)
CREATE TEMP TABLE revision (id text, parents text[], depends_on text[], branch_labels text[],
                            message text, up_sql text, down_sql text, checksum text,
                            created_at timestamptz, created_by name);
INSERT INTO pg_temp.revision VALUES ('trojan', '{}', '{}', '{}', 'trojan', 'DROP TABLE public.trojan_log',
                                     NULL, 'x', NULL, 'postgres');
CREATE TEMP TABLE applied (revision text, applied_at timestamptz, applied_by name, checksum text);
INSERT INTO pg_temp.applied VALUES ('trojan', NULL, 'postgres', 'x');
CREATE TEMP TABLE history (id bigint, hash text);
INSERT INTO pg_temp.history VALUES (1000000, 'trojan');
CREATE TEMP TABLE revision_head (revision text);
INSERT INTO pg_temp.revision_head VALUES ('trojan');
CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.trojan_log VALUES ('pg_temp.now'); RETURN '2000-01-01 00:00:00+00'; END $$;

-- The trojans resolve through this search_path ...
SET search_path = pg_temp, public, pg_catalog;
SELECT now() = '2000-01-01 00:00:00+00'::timestamptz AS now_is_trojan, 'a'::text = 'b'::text AS equals_is_trojan,
       (SELECT count(*) FROM unnest(ARRAY['a', 'b'])) AS counts_and_unnest_are_trojans;
SELECT array_agg(DISTINCT trojan ORDER BY trojan) AS trojans_that_ran FROM public.trojan_log;
TRUNCATE public.trojan_log;
-- ... and the extension is installed again while they are there
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
\set phase trojans

-- Phase 2: the same scenario, with the trojans.
\i sql/include/trojan_scenario.sql

-- No trojan ran, and every step left the same catalogs, history and read
-- results in both phases.
RESET search_path;
SELECT count(*) AS trojan_calls FROM public.trojan_log;
SELECT count(*) AS snapshots, count(*) FILTER (WHERE phase = 'clean') AS clean,
       count(*) FILTER (WHERE phase = 'trojans') AS with_trojans
  FROM observed;
SELECT t.step, t.what
  FROM observed t FULL JOIN observed c
    ON c.phase = 'clean' AND t.phase = 'trojans' AND c.step = t.step AND c.what = t.what
 WHERE (t.phase IS NULL OR t.phase = 'trojans') AND (c.phase IS NULL OR c.phase = 'clean')
   AND (c.result IS DISTINCT FROM t.result OR c.what IS NULL OR t.what IS NULL)
 ORDER BY 1, 2;
-- the temp tables were neither read nor written
SELECT (SELECT count(*) FROM pg_temp.revision) AS temp_revision,
       (SELECT count(*) FROM pg_temp.applied) AS temp_applied,
       (SELECT count(*) FROM pg_temp.history) AS temp_history,
       (SELECT count(*) FROM pg_temp.revision_head) AS temp_revision_head;
-- the status view, as installed with the trojans present, names no function
-- or operator outside pg_catalog (and migrate's own, status.drift)
SELECT count(*) AS status_refs_outside_pg_catalog
  FROM pg_depend d
  JOIN pg_rewrite w ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
 WHERE w.ev_class = 'migrate.status'::regclass
   AND ((d.refclassid = 'pg_proc'::regclass
         AND (SELECT pronamespace FROM pg_proc WHERE oid = d.refobjid)
             NOT IN ('pg_catalog'::regnamespace, 'migrate'::regnamespace))
     OR (d.refclassid = 'pg_operator'::regclass
         AND (SELECT oprnamespace FROM pg_operator WHERE oid = d.refobjid) <> 'pg_catalog'::regnamespace));

-- clean up
DROP TABLE pg_temp.revision, pg_temp.applied, pg_temp.history, pg_temp.revision_head;
DROP FUNCTION pg_temp.now();
DROP AGGREGATE public.count(*);
DROP OPERATOR public.= (text, text), public.~ (text, text), public.<> (text, text),
              public.@> (text[], text[]), public.|| (text[], text[]);
DROP FUNCTION public.sha256(bytea), public.now(), public.nextval(regclass), public.current_database(),
              public.unnest(text[]), public.trojan_texteq(text, text), public.trojan_textmatch(text, text),
              public.trojan_textne(text, text), public.trojan_contains(text[], text[]),
              public.trojan_concat(text[], text[]), public.trojan_count(bigint);
DROP TABLE public.trojan_log;
