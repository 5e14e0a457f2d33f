-- The schema model: every kind, names not OIDs, a stable order.
CREATE ROLE model_owner;
CREATE ROLE model_reader;
CREATE SCHEMA model AUTHORIZATION model_owner;
COMMENT ON SCHEMA model IS 'a schema of every kind';
SET search_path = model;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
CREATE DOMAIN posint AS integer NOT NULL DEFAULT 1 CONSTRAINT posint_check CHECK (VALUE > 0);
CREATE TYPE pair AS (a integer, b text);
CREATE TYPE span AS RANGE (subtype = integer);
CREATE SEQUENCE counter START 10 INCREMENT 5 CACHE 2;
CREATE TABLE account (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text COLLATE "C" NOT NULL DEFAULT 'x',
    feeling mood,
    score posint,
    twice integer GENERATED ALWAYS AS (id * 2) STORED,
    n bigint DEFAULT nextval('counter'),
    CONSTRAINT name_len CHECK (length(name) < 100)
) WITH (fillfactor = 90);
CREATE UNLOGGED TABLE scratch (k serial, v text UNIQUE);
CREATE TABLE child (id integer REFERENCES account (id), note text) INHERITS (scratch);
CREATE TABLE part (d date NOT NULL, v int) PARTITION BY RANGE (d);
CREATE TABLE part_2026 PARTITION OF part FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX account_lower ON account (lower(name)) WHERE score > 1;
CREATE INDEX part_d ON part (d);
COMMENT ON TABLE account IS 'accounts';
COMMENT ON COLUMN account.name IS E'two\nlines';
COMMENT ON INDEX account_lower IS 'lookup';
GRANT SELECT, UPDATE ON account TO model_reader;
GRANT SELECT (v) ON scratch TO model_reader;
CREATE VIEW account_names WITH (security_barrier) AS SELECT id, name FROM account WHERE score > 0;
CREATE MATERIALIZED VIEW account_count AS SELECT count(*) AS n FROM account;
CREATE FUNCTION bump(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';
CREATE PROCEDURE touch(t text) LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE '%', t; END$$;
CREATE AGGREGATE total(integer) (sfunc = int4pl, stype = integer, initcond = '0');
REVOKE EXECUTE ON FUNCTION bump(integer) FROM PUBLIC;
CREATE FUNCTION stamp_row() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER account_stamp BEFORE UPDATE ON account FOR EACH ROW EXECUTE FUNCTION stamp_row();
ALTER TABLE account ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON account FOR SELECT TO model_reader USING (name = current_user);
-- an extension's objects are not part of the model
CREATE EXTENSION IF NOT EXISTS plpgsql;
RESET search_path;

SELECT kind, identity, definition FROM migrate.schema_model('{model}');
-- the default set: neither migrate nor pg_catalog
SELECT count(*) > 0 AS has_model,
       bool_and(identity NOT LIKE 'migrate.%' AND identity NOT LIKE 'pg_catalog.%') AS no_system
  FROM migrate.schema_model() WHERE kind <> 'schema';
SELECT identity FROM migrate.schema_model() WHERE kind = 'schema' AND identity IN ('migrate', 'model', 'public');
-- migrate.drift_schemas
SET migrate.drift_schemas = 'model';
SELECT count(*) = (SELECT count(*) FROM migrate.schema_model('{model}')) AS same FROM migrate.schema_model();
SET migrate.drift_schemas = '"no such';
SELECT count(*) FROM migrate.schema_model();
RESET migrate.drift_schemas;

-- the fingerprint: stable, and it moves with any change
SELECT length(migrate.schema_fingerprint('{model}')) AS hex_length,
       migrate.schema_fingerprint('{model}') = migrate.schema_fingerprint('{model}') AS stable;
CREATE TEMP TABLE fp AS SELECT migrate.schema_fingerprint('{model}') AS before;
COMMENT ON TABLE model.account IS 'changed';
SELECT migrate.schema_fingerprint('{model}') <> before AS moved FROM fp;
COMMENT ON TABLE model.account IS 'accounts';
SELECT migrate.schema_fingerprint('{model}') = before AS back FROM fp;
-- the caller's search_path changes nothing
SET search_path = model, public;
SELECT migrate.schema_fingerprint('{model}') = before AS same_under_search_path FROM fp;
RESET search_path;
-- nor do the session's output settings (the partition bound holds dates)
SET DateStyle = 'SQL, DMY';
SET extra_float_digits = 0;
SELECT migrate.schema_fingerprint('{model}') = before AS same_under_datestyle FROM fp;
RESET DateStyle;
RESET extra_float_digits;
-- temporary objects are not part of it
CREATE TEMP TABLE scratch_tmp (a int);
SELECT count(*) AS temp_objects FROM migrate.schema_model() WHERE identity LIKE 'pg_temp%';

-- OIDs are not part of it: the same schema built again has the same model
DROP SCHEMA model CASCADE;
CREATE TEMP TABLE ddl (sql text);
INSERT INTO ddl VALUES ($$
CREATE SCHEMA again;
CREATE TABLE again.t (id serial PRIMARY KEY, v text DEFAULT 'a');
CREATE INDEX t_v ON again.t (v);
CREATE VIEW again.v AS SELECT id FROM again.t;
CREATE FUNCTION again.f(again.t) RETURNS int LANGUAGE sql AS 'SELECT $1.id';
$$);
DO $$BEGIN EXECUTE (SELECT sql FROM ddl); END$$;
CREATE TEMP TABLE first_build AS SELECT * FROM migrate.schema_model('{again}');
DROP SCHEMA again CASCADE;
CREATE TABLE public.shift_oids (a int);
DO $$BEGIN EXECUTE (SELECT sql FROM ddl); END$$;
SELECT count(*) AS objects,
       (SELECT count(*) FROM (SELECT * FROM migrate.schema_model('{again}')
                              EXCEPT SELECT * FROM first_build) x) AS differences
  FROM first_build;
DROP SCHEMA again CASCADE;
DROP TABLE public.shift_oids;
DROP ROLE model_owner;
DROP ROLE model_reader;

-- an index's definition is pg_get_indexdef()'s text, whether the model
-- composes it (one plain column, default operator class, collation, order)
-- or calls pg_get_indexdef(): the same for every shape
CREATE SCHEMA "Idx";
CREATE TABLE "Idx"."T" (id int PRIMARY KEY, "Name" text UNIQUE, v varchar(20), n numeric,
                        c text COLLATE "C", d date, r int4range, b bool, j jsonb,
                        EXCLUDE USING gist (r WITH &&));
CREATE TABLE "Idx".p (k int, d date) PARTITION BY RANGE (d);
CREATE TABLE "Idx".p1 PARTITION OF "Idx".p FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX ON "Idx"."T" (v);
CREATE INDEX ON "Idx"."T" (v varchar_ops);
CREATE INDEX ON "Idx"."T" (n DESC);
CREATE INDEX ON "Idx"."T" (n NULLS FIRST);
CREATE INDEX ON "Idx"."T" ("Name" COLLATE "C");
CREATE INDEX ON "Idx"."T" (c);
CREATE INDEX ON "Idx"."T" ("Name" text_pattern_ops);
CREATE INDEX ON "Idx"."T" (d, n);
CREATE INDEX ON "Idx"."T" (d) INCLUDE (n);
CREATE INDEX ON "Idx"."T" (d) WHERE b;
CREATE INDEX ON "Idx"."T" ((lower("Name")));
CREATE INDEX ON "Idx"."T" USING hash (d);
CREATE INDEX ON "Idx"."T" USING gin (j);
CREATE INDEX ON "Idx"."T" USING gin (j jsonb_path_ops);
CREATE INDEX ON "Idx"."T" USING brin (d);
CREATE INDEX ON "Idx"."T" (b) WITH (fillfactor = 70);
CREATE UNIQUE INDEX ON "Idx"."T" (d) NULLS NOT DISTINCT;
CREATE INDEX ON "Idx".p (k);
SELECT count(*) AS indexes,
       count(*) FILTER (WHERE pg_catalog.split_part(m.definition, E'\n', 1)
                              = pg_catalog.pg_get_indexdef(m.identity::regclass)) AS same
  FROM migrate.schema_model('{Idx}') m WHERE m.kind = 'index';
DROP SCHEMA "Idx" CASCADE;

-- a constraint's definition is pg_get_constraintdef()'s text, whether the
-- model composes it (a primary key or unique constraint without INCLUDE) or
-- calls pg_get_constraintdef(): the same for every shape
CREATE SCHEMA "Con";
CREATE TABLE "Con"."T" ("Id" int, b int, c text, d date, e int, "select" int,
                        CONSTRAINT "T pk" PRIMARY KEY ("Id", b), UNIQUE (c), UNIQUE NULLS NOT DISTINCT (d),
                        UNIQUE (e) DEFERRABLE, UNIQUE (d, e) DEFERRABLE INITIALLY DEFERRED,
                        UNIQUE (b) INCLUDE (c), UNIQUE ("select"), EXCLUDE USING btree (e WITH =),
                        CHECK (e > 0));
ALTER TABLE "Con"."T" ADD CONSTRAINT later CHECK (b > 0) NOT VALID;
CREATE TABLE "Con".r (x text REFERENCES "Con"."T" (c), PRIMARY KEY (x));
CREATE TABLE "Con".p (k int, d date, PRIMARY KEY (k, d)) PARTITION BY RANGE (d);
CREATE TABLE "Con".p1 PARTITION OF "Con".p FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE UNIQUE INDEX r_x ON "Con".r (x);
ALTER TABLE "Con".r DROP CONSTRAINT r_pkey, ADD CONSTRAINT r_by_index UNIQUE USING INDEX r_x;
SELECT m.identity, pg_catalog.split_part(m.definition, E'\n', 1) AS model, pg_catalog.pg_get_constraintdef(c.oid)
  FROM migrate.schema_model('{Con}') m
  JOIN pg_catalog.pg_constraint c
    ON m.identity = (SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.relname)
                      FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
                     WHERE t.oid = c.conrelid) || '.' || pg_catalog.quote_ident(c.conname)
 WHERE m.kind = 'constraint'
 ORDER BY 1;
DROP SCHEMA "Con" CASCADE;
