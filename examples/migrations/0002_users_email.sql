-- migrate:revision 0002_users_email
-- migrate:parents 0001_users
-- migrate:message add email to users
-- migrate:up
ALTER TABLE users ADD COLUMN email text;
-- migrate:down
ALTER TABLE users DROP COLUMN email;
