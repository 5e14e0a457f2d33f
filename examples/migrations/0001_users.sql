-- migrate:revision 0001_users
-- migrate:parents base
-- migrate:message create users
-- migrate:up
CREATE TABLE users (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO users (name) VALUES ('ada'), ('grace'), ('linus');
-- migrate:down
DROP TABLE users;
