-- The demo application's migrations: a small SaaS with users and, on a
-- second branch labelled "billing", invoices.  `make demo` runs this file
-- against a fresh database with the extension installed; running it again is
-- a no-op, because migrate.add() is idempotent.

SELECT migrate.add('0001_users',
  up => $$
    CREATE TABLE users (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name       text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO users (name) VALUES ('ada'), ('grace'), ('linus');
  $$,
  down => 'DROP TABLE users',
  message => 'create users');

SELECT migrate.add('0002_users_email',
  up => 'ALTER TABLE users ADD COLUMN email text',
  down => 'ALTER TABLE users DROP COLUMN email',
  message => 'add email to users');

-- A data migration: derive every existing user's address, then require one.
SELECT migrate.add('0003_backfill_email',
  up => $$
    UPDATE users SET email = name || '@example.com' WHERE email IS NULL;
    ALTER TABLE users ALTER COLUMN email SET NOT NULL;
  $$,
  down => 'ALTER TABLE users ALTER COLUMN email DROP NOT NULL',
  message => 'backfill email and make it required');

SELECT migrate.add('0004_users_email_idx',
  up => 'CREATE UNIQUE INDEX users_email_idx ON users (lower(email))',
  down => 'DROP INDEX users_email_idx',
  message => 'unique index on email');

-- A second branch, labelled "billing", that starts from 0002.
SELECT migrate.add('0101_invoices',
  up => $$
    CREATE TABLE invoices (
      id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id  bigint NOT NULL REFERENCES users,
      amount   numeric(12, 2) NOT NULL CHECK (amount >= 0),
      issued   date NOT NULL DEFAULT current_date
    );
  $$,
  down => 'DROP TABLE invoices',
  parents => '{0002_users_email}',
  branch_labels => '{billing}',
  message => 'create invoices');

SELECT migrate.add('0102_invoices_user_idx',
  up => 'CREATE INDEX invoices_user_id_idx ON invoices (user_id)',
  down => 'DROP INDEX invoices_user_id_idx',
  parents => '{0101_invoices}',
  message => 'index invoices by user');

-- Join the two branches, so that 'head' names one revision again.
SELECT migrate.merge(ARRAY['0004_users_email_idx', '0102_invoices_user_idx'],
                     message => 'merge billing into main', id => '0005_merge_billing');

SELECT revision, message FROM migrate.upgrade('head');
