-- migrate:revision 0004_users_email_idx
-- migrate:parents 0003_backfill_email
-- migrate:message unique index on email
-- migrate:up
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));
-- migrate:down
DROP INDEX users_email_idx;
