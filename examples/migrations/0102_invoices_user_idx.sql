-- migrate:revision 0102_invoices_user_idx
-- migrate:parents 0101_invoices
-- migrate:message index invoices by user
-- migrate:up
CREATE INDEX invoices_user_id_idx ON invoices (user_id);
-- migrate:down
DROP INDEX invoices_user_id_idx;
