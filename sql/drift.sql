-- Drift: the model recorded by migrate's own steps, what differs from it
-- (drift()), check(), status.drift, stamped revisions, accept_drift().
SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
\set VERBOSITY default
SET migrate.track_drift = on;
SET migrate.drift_schemas = 'drift_app';
CREATE SCHEMA drift_app;
CREATE ROLE drift_nobody;

-- no model recorded yet: no object drifts
SELECT * FROM migrate.drift();
SELECT drift FROM migrate.status;

-- the first call that runs revisions records the baseline: what exists then
SELECT migrate.add('d1', 'CREATE TABLE drift_app.users (id int PRIMARY KEY)', 'DROP TABLE drift_app.users');
SELECT migrate.add('d2', 'ALTER TABLE drift_app.users ADD email text', 'ALTER TABLE drift_app.users DROP email');
CREATE TABLE drift_app.before_baseline (a int);
SELECT revision FROM migrate.upgrade('head');
-- the call's last row carries the fingerprint of the schema after it
SELECT operation, revision, detail ? 'schema_fingerprint' AS has_fingerprint,
       detail->>'schema_fingerprint' = migrate.schema_fingerprint() AS is_live,
       detail->'drift_baseline' AS baseline
  FROM migrate.history WHERE operation = 'upgrade' ORDER BY id;
SELECT kind, identity FROM migrate.schema_object ORDER BY 1, 2;
SELECT * FROM migrate.drift();
SELECT drift FROM migrate.status;
SELECT migrate.check();

-- changes made outside migrate: create, alter, drop, grant, comment
CREATE TABLE drift_app.hotfix (id int);
ALTER TABLE drift_app.users ADD COLUMN phone text;
DROP TABLE drift_app.before_baseline;
GRANT SELECT ON drift_app.users TO drift_nobody;
COMMENT ON COLUMN drift_app.users.email IS 'contact';
SELECT kind, identity, change,
       CASE kind WHEN 'ddl' THEN (detail::jsonb - 'at' - 'history_id')::text ELSE detail END AS detail
  FROM migrate.drift();
SELECT kind, identity, recorded, live FROM migrate.drift() WHERE identity = 'drift_app.users.email';
SELECT drift FROM migrate.status;
SELECT migrate.check();

-- later calls do not absorb them: while recorded DDL awaits accept_drift(), a
-- call reads the whole model before and after and records only what it
-- changed (d3 indexes users, whose hot fix stays drift)
SELECT migrate.add('d3', 'CREATE INDEX users_email ON drift_app.users (email)', 'DROP INDEX drift_app.users_email');
SELECT revision FROM migrate.upgrade('head');
SELECT kind, identity, change FROM migrate.drift();
SELECT revision FROM migrate.downgrade('d1');
SELECT kind, identity, change FROM migrate.drift();
CALL migrate.deploy('head');
SELECT kind, identity, change FROM migrate.drift();
SELECT operation, revision, detail ? 'schema_fingerprint' AS has_fingerprint
  FROM migrate.history WHERE operation IN ('upgrade', 'downgrade') ORDER BY id;

-- accept_drift(): one history row with the reason and what it accepted
SELECT migrate.accept_drift('');
SELECT migrate.accept_drift('hot fix INC-42');
SELECT operation, revision, detail->>'reason' AS reason, detail->'count' AS count,
       detail->'accepted' AS accepted,
       detail->>'schema_fingerprint' = migrate.schema_fingerprint() AS is_live
  FROM migrate.history WHERE operation = 'accept';
SELECT * FROM migrate.drift();
SELECT drift FROM migrate.status;
SELECT migrate.check();
SELECT problem FROM migrate.verify();

-- a stamp runs no SQL: its rows say so, and drift() names the revision
SELECT migrate.add('d4', 'CREATE TABLE drift_app.never (a int)', 'DROP TABLE drift_app.never');
SELECT migrate.stamp('head');
SELECT operation, revision, detail - 'schema_fingerprint' AS detail, detail ? 'schema_fingerprint' AS has_fingerprint
  FROM migrate.history WHERE operation = 'stamp';
SELECT kind, identity, change, recorded, live,
       detail::jsonb - 'stamped_at' - 'history_id' AS detail
  FROM migrate.drift();
SELECT migrate.check();
SELECT migrate.accept_drift('d4 was applied by hand');
SELECT * FROM migrate.drift();
-- applied by an upgrade after all: no longer stamped
SELECT migrate.stamp('d3');
SELECT kind, identity, change FROM migrate.drift();
SELECT revision FROM migrate.upgrade('head');
SELECT * FROM migrate.drift();

-- a failed deploy step: rolled back, the failure row has the fingerprint
SELECT migrate.add('d5', 'CREATE TABLE drift_app.t5 (a int); SELECT 1/0', 'DROP TABLE drift_app.t5');
\set VERBOSITY terse
CALL migrate.deploy('head');
\set VERBOSITY default
SELECT revision, success, detail->>'schema_fingerprint' = migrate.schema_fingerprint() AS is_live
  FROM migrate.history ORDER BY id DESC LIMIT 1;
SELECT * FROM migrate.drift();
SELECT migrate.remove('d5');

-- objects outside the managed schemas are not drift
CREATE TABLE public.drift_elsewhere (a int);
SELECT * FROM migrate.drift();
DROP TABLE public.drift_elsewhere;

-- migrate.track_drift off: nothing read, nothing reported, nothing accepted
SET migrate.track_drift = off;
CREATE TABLE drift_app.unseen (a int);
SELECT * FROM migrate.drift();
SELECT drift FROM migrate.status;
SELECT migrate.check();
SELECT migrate.accept_drift('x');
SET migrate.track_drift = on;
SELECT kind, identity, change FROM migrate.drift();
DROP TABLE drift_app.unseen;

-- only a superuser sets the GUCs; accept_drift() needs its grant
SET ROLE drift_nobody;
SET migrate.track_drift = off;
SELECT migrate.accept_drift('x');
SELECT migrate.drift_count();
RESET ROLE;

-- recorded as it happens: the event triggers stage DDL run outside migrate
SELECT migrate.accept_drift('a clean slate for the events') > 0 AS accepted;
CREATE TABLE drift_app.evt (a int);
SELECT event, command_tag, objects, statement FROM migrate.drift_event ORDER BY id;
SELECT kind, identity, change, detail::jsonb->'staged' AS staged FROM migrate.drift();
-- the next call that writes history moves them, keeping who and when
SELECT migrate.add('d6', 'CREATE TABLE drift_app.by_revision (a int)', 'DROP TABLE drift_app.by_revision');
SELECT count(*) AS staged FROM migrate.drift_event;
SELECT operation, revision, session_role, success, checksum, detail->>'command_tag' AS tag,
       detail->'objects' AS objects, detail->>'statement' AS statement
  FROM migrate.history WHERE operation = 'drift' ORDER BY id;
SELECT kind, identity, change, detail::jsonb->>'command_tag' AS tag FROM migrate.drift();
-- a revision's DDL is not recorded, in upgrade, downgrade or deploy
SELECT revision FROM migrate.upgrade('d6');
CALL migrate.revert('d4');
CALL migrate.deploy('head');
SELECT count(*) AS staged FROM migrate.drift_event;
-- ALTER, DROP, GRANT, COMMENT
ALTER TABLE drift_app.evt ADD COLUMN b int;
GRANT SELECT ON drift_app.evt TO drift_nobody;
COMMENT ON TABLE drift_app.evt IS 'events';
ALTER TABLE drift_app.evt DROP COLUMN b;
DROP TABLE drift_app.evt;
SELECT event, command_tag, objects, statement FROM migrate.drift_event ORDER BY id;
-- not recorded: temporary objects, objects outside the managed schemas
CREATE TEMP TABLE drift_tmp (a int);
DROP TABLE drift_tmp;
CREATE TABLE public.drift_elsewhere (a int);
DROP TABLE public.drift_elsewhere;
SELECT count(*) AS staged FROM migrate.drift_event;
-- a role without any privilege on migrate's tables still gets its DDL recorded
CREATE ROLE drift_dev;
GRANT USAGE, CREATE ON SCHEMA drift_app TO drift_dev;
SET ROLE drift_dev;
SELECT count(*) FROM migrate.drift_event;
CREATE TABLE drift_app.by_dev (a int);
RESET ROLE;
SELECT session_role, effective_role, command_tag, objects FROM migrate.drift_event ORDER BY id DESC LIMIT 1;
-- migrate.record_drift off pauses recording: the first DDL skipped says so,
-- and the first recorded again says it resumed
SET migrate.record_drift = off;
CREATE TABLE drift_app.quiet1 (a int);
CREATE TABLE drift_app.quiet2 (a int);
RESET migrate.record_drift;
CREATE TABLE drift_app.loud (a int);
SELECT event, command_tag, objects FROM migrate.drift_event ORDER BY id;
-- the fingerprint still finds what was not recorded
SELECT kind, identity, change FROM migrate.drift() WHERE kind <> 'ddl';
SELECT kind, identity, change FROM migrate.drift() WHERE kind = 'ddl';
SELECT migrate.check();
SELECT migrate.accept_drift('maintenance window reviewed');
SELECT count(*) AS staged FROM migrate.drift_event;
SELECT count(*) AS drift_rows FROM migrate.history WHERE operation = 'drift';
SELECT * FROM migrate.drift();
SELECT migrate.check();
DROP TABLE drift_app.by_dev;
REVOKE ALL ON SCHEMA drift_app FROM drift_dev;
DROP ROLE drift_dev;

-- what a call's revisions touch is recorded as they leave it: renames (and
-- the definitions naming the renamed object), drops, grants, moves out of the
-- managed schemas, functions, types; nothing else is read
SELECT migrate.accept_drift('clean slate for the revision shapes') > 0 AS accepted;
CREATE SCHEMA drift_other;
SELECT migrate.add('t1', $$
  CREATE TABLE drift_app.orders (id int PRIMARY KEY, total numeric, note text);
  CREATE INDEX orders_total ON drift_app.orders (total);
  CREATE VIEW drift_app.big_orders AS SELECT id, total FROM drift_app.orders WHERE total > 100;
  CREATE FUNCTION drift_app.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
  CREATE TRIGGER orders_touch BEFORE UPDATE ON drift_app.orders FOR EACH ROW EXECUTE FUNCTION drift_app.touch();
  CREATE TYPE drift_app.mood AS ENUM ('ok');
  CREATE TABLE drift_app.moved (a int);
$$, $$
  DROP TABLE drift_app.moved;
  DROP TYPE drift_app.mood;
  DROP VIEW drift_app.big_orders;
  DROP TABLE drift_app.orders;
  DROP FUNCTION drift_app.touch();
$$);
SELECT migrate.add('t2', $$
  ALTER TABLE drift_app.orders RENAME COLUMN total TO amount;
  ALTER TABLE drift_app.orders RENAME TO purchases;
  DROP INDEX drift_app.orders_total;
  ALTER TABLE drift_app.purchases DROP COLUMN note;
  DROP TRIGGER orders_touch ON drift_app.purchases;
  ALTER FUNCTION drift_app.touch() RENAME TO touched;
  GRANT SELECT ON drift_app.purchases TO drift_nobody;
  ALTER TYPE drift_app.mood ADD VALUE IF NOT EXISTS 'meh';
  ALTER TABLE drift_app.moved SET SCHEMA drift_other;
  COMMENT ON VIEW drift_app.big_orders IS 'over 100';
$$, $$
  COMMENT ON VIEW drift_app.big_orders IS NULL;
  ALTER TABLE drift_other.moved SET SCHEMA drift_app;
  REVOKE SELECT ON drift_app.purchases FROM drift_nobody;
  ALTER FUNCTION drift_app.touched() RENAME TO touch;
  CREATE TRIGGER orders_touch BEFORE UPDATE ON drift_app.purchases FOR EACH ROW EXECUTE FUNCTION drift_app.touch();
  ALTER TABLE drift_app.purchases ADD COLUMN note text;
  CREATE INDEX orders_total ON drift_app.purchases (amount);
  ALTER TABLE drift_app.purchases RENAME TO orders;
  ALTER TABLE drift_app.orders RENAME COLUMN amount TO total;
$$);
SELECT revision FROM migrate.upgrade('t1');
SELECT kind, identity, change FROM migrate.drift();
SELECT revision FROM migrate.upgrade('t2');
SELECT kind, identity, change FROM migrate.drift();
SELECT kind, identity, root FROM migrate.schema_object
 WHERE root IN ('r:drift_app.purchases', 'r:drift_app.big_orders', 'p:drift_app.touched()', 't:drift_app.mood')
 ORDER BY kind, identity;
SELECT count(*) AS left_behind FROM migrate.schema_object
 WHERE identity IN ('drift_app.orders', 'drift_app.orders_total', 'drift_app.moved')
    OR identity LIKE 'drift_app.orders.%' OR root LIKE 'p:drift_app.touch(%';
SELECT definition FROM migrate.schema_object WHERE identity = 'drift_app.big_orders';
SELECT revision FROM migrate.downgrade('t1');
SELECT kind, identity, change FROM migrate.drift();
-- without the event triggers (disabled here), the whole model is read
-- before and after, and only what changed between is recorded
ALTER EVENT TRIGGER migrate_record_ddl DISABLE;
SELECT revision FROM migrate.upgrade('t2');
ALTER EVENT TRIGGER migrate_record_ddl ENABLE;
SELECT kind, identity, change FROM migrate.drift();
-- after a restore the kept OIDs are another database's: they are looked up
-- again by name (here: made wrong on purpose) before they are used
UPDATE migrate.schema_root SET definitions = '{elsewhere}' WHERE key = 'm:epoch';
UPDATE migrate.schema_root SET root_oid = 1 WHERE key NOT LIKE 'm:%';
SELECT revision FROM migrate.downgrade('t1');
SELECT kind, identity, change FROM migrate.drift();
SELECT count(*) AS wrong_oids FROM migrate.schema_object WHERE root_oid = 1;
-- DDL nobody recorded (migrate.track_drift off in that session) on a relation
-- a revision then touches is taken in with it; on anything else it stays drift
SET migrate.track_drift = off;
ALTER TABLE drift_app.orders ADD COLUMN sneaky int;
CREATE TABLE drift_app.unseen (a int);
SET migrate.track_drift = on;
SELECT revision FROM migrate.upgrade('t2');
SELECT kind, identity, change FROM migrate.drift();
SET migrate.track_drift = off;
DROP TABLE drift_app.unseen;
SET migrate.track_drift = on;
SELECT revision FROM migrate.downgrade('base');
SELECT kind, identity, change FROM migrate.drift();
-- the recorded model keeps a row per root, an index in a row of its own
SELECT revision FROM migrate.upgrade('t1');
SELECT key, root, kinds FROM migrate.schema_root WHERE root = 'r:drift_app.orders' ORDER BY key;
-- so an index dropped outside migrate with nothing recording, then created
-- on another table by a revision, stays recorded once, on its new table
SET migrate.track_drift = off;
DROP INDEX drift_app.orders_total;
SET migrate.track_drift = on;
SELECT migrate.add('t3', 'CREATE TABLE drift_app.totals (total numeric); CREATE INDEX orders_total ON drift_app.totals (total)',
                   'DROP TABLE drift_app.totals', parents => '{t1}');
SELECT revision FROM migrate.upgrade('t3');
SELECT kind, identity, root FROM migrate.schema_object WHERE identity = 'drift_app.orders_total';
SELECT kind, identity, change FROM migrate.drift();
SELECT revision FROM migrate.downgrade('base');
SELECT count(*) AS rows_left FROM migrate.schema_root WHERE root IN ('r:drift_app.orders', 'r:drift_app.totals');
SELECT kind, identity, change FROM migrate.drift();
-- a statement that only creates (CREATE TABLE, INDEX, SEQUENCE, VIEW,
-- FUNCTION, TYPE, DOMAIN, TRIGGER, POLICY, an empty SCHEMA) touches what the
-- object access hook saw it create: on tables that existed before the call
-- too (an index on a partitioned table makes one on each partition)
SELECT migrate.add('t4', $$
  CREATE SCHEMA drift_made;
  CREATE SEQUENCE drift_made.seq;
  CREATE DOMAIN drift_app.positive AS int CHECK (VALUE > 0);
  CREATE TABLE drift_app.made (id serial PRIMARY KEY, n drift_app.positive DEFAULT 1, at date NOT NULL);
  CREATE TABLE drift_app.parted (k int, d date) PARTITION BY RANGE (d);
  CREATE TABLE drift_app.parted_1 PARTITION OF drift_app.parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
  CREATE FUNCTION drift_app.made_n() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
  CREATE VIEW drift_app.made_view AS SELECT id FROM drift_app.made;
  CREATE TYPE drift_app.pair AS (a int, b int);
  COMMENT ON COLUMN drift_app.made.at IS 'when';
  CREATE TABLE drift_app.copied (LIKE drift_app.made INCLUDING ALL);
$$, $$
  DROP TABLE drift_app.copied;
  DROP TYPE drift_app.pair;
  DROP VIEW drift_app.made_view;
  DROP FUNCTION drift_app.made_n();
  DROP TABLE drift_app.parted;
  DROP TABLE drift_app.made;
  DROP DOMAIN drift_app.positive;
  DROP SCHEMA drift_made CASCADE;
$$, parents => '{t1}');
SELECT migrate.add('t5', $$
  CREATE POLICY made_policy ON drift_app.made USING (n > 1);
  CREATE INDEX parted_k ON drift_app.parted (k);
  CREATE UNIQUE INDEX made_at ON drift_app.made (at);
  CREATE TRIGGER made_touch BEFORE UPDATE ON drift_app.made FOR EACH ROW EXECUTE FUNCTION drift_app.made_n();
  CREATE TRIGGER parted_touch BEFORE UPDATE ON drift_app.parted FOR EACH ROW EXECUTE FUNCTION drift_app.made_n();
$$, $$
  DROP TRIGGER parted_touch ON drift_app.parted;
  DROP TRIGGER made_touch ON drift_app.made;
  DROP INDEX drift_app.made_at;
  DROP INDEX drift_app.parted_k;
  DROP POLICY made_policy ON drift_app.made;
$$, parents => '{t4}');
SELECT revision FROM migrate.upgrade('t4');
SELECT kind, identity, change FROM migrate.drift();
SELECT revision FROM migrate.upgrade('t5');
SELECT kind, identity, change FROM migrate.drift();
SELECT kind, identity FROM migrate.schema_object
 WHERE kind IN ('policy', 'index', 'trigger') AND schema = 'drift_app' AND identity ~ 'made|parted'
 ORDER BY kind, identity;
-- LIKE ... INCLUDING ALL copied the column's comment: recorded with it
SELECT kind, identity, definition FROM migrate.schema_object WHERE identity = 'drift_app.copied.at';
SELECT revision FROM migrate.downgrade('t4');
SELECT kind, identity, change FROM migrate.drift();
SELECT revision FROM migrate.downgrade('base');
SELECT kind, identity, change FROM migrate.drift();
DROP SCHEMA drift_other;

-- a GRANT is recorded with its objects, and only for the managed schemas
SELECT count(*) AS staged_before FROM migrate.drift_event \gset
CREATE TABLE public.drift_outside (a int);
GRANT SELECT ON public.drift_outside TO drift_nobody;
GRANT USAGE ON SCHEMA public TO drift_nobody;
SELECT count(*) - :staged_before AS staged_outside FROM migrate.drift_event;
REVOKE USAGE ON SCHEMA public FROM drift_nobody;
DROP TABLE public.drift_outside;

-- every history row still chains
SELECT problem FROM migrate.verify();
SET migrate.record_drift = off;
DROP SCHEMA drift_app CASCADE;
DROP ROLE drift_nobody;
