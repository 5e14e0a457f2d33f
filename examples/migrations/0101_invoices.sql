-- migrate:revision 0101_invoices
-- migrate:parents 0002_users_email
-- migrate:branch_labels billing
-- migrate:message create invoices
-- A second branch, labelled "billing", that starts from 0002.
-- migrate:up
CREATE TABLE invoices (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id  bigint NOT NULL REFERENCES users,
  amount   numeric(12, 2) NOT NULL CHECK (amount >= 0),
  issued   date NOT NULL DEFAULT current_date
);
-- migrate:down
DROP TABLE invoices;
