-- Up Migration

-- Bookkeeping rows are deleted by the leader once they are older than their retention (issue 12,
-- SPEC §6; libs/db retention/expiring-rows.ts). Each pruning batch picks the oldest expired rows by
-- these indexes, so a pass costs what it deletes, never a scan of the table.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
CREATE INDEX rejected_replies_rejected_at ON rejected_replies (rejected_at);

-- Down Migration

DROP INDEX rejected_replies_rejected_at;
DROP INDEX idempotency_keys_created_at;
