-- migrate:revision 0003_backfill_email
-- migrate:parents 0002_users_email
-- migrate:message backfill email and make it required
-- A data migration: derive every existing user's address, then require one.
-- migrate:up
UPDATE users SET email = name || '@example.com' WHERE email IS NULL;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
-- migrate:down
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
