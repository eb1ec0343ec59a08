-- Up Migration

-- The reply inbox (SPEC §4): every valid reply taken off the interface status queue is stored here
-- before its message is deleted, so no Redis flush, restart or failover can lose it. One row per
-- interface message (a re-delivered message is stored once). receive-status applies the reply from
-- here and sets applied_at in the same statement as the change it makes; reconciliation re-adds
-- the wake-up job of every row whose applied_at is still NULL. `outcome` says what was done
-- (applied, rejected, given up), for operators.
CREATE TABLE reply_inbox (
  inbox_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_queue text NOT NULL,
  message_id   text NOT NULL,
  reply        jsonb NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  applied_at   timestamptz,
  outcome      text,
  UNIQUE (source_queue, message_id)
);
-- what reconciliation looks for: small, since rows leave it as soon as they are applied
CREATE INDEX reply_inbox_unapplied ON reply_inbox (received_at) WHERE applied_at IS NULL;
-- what pruning looks for: applied rows older than LINEBACKER_APPLIED_REPLY_RETENTION_S
CREATE INDEX reply_inbox_applied_at ON reply_inbox (applied_at) WHERE applied_at IS NOT NULL;

-- Rejected replies also keep what neither the inbox nor the poison queue could take (SPEC §4: a
-- poison record the poison queue refused, a reply the database refused): then there may be no
-- request id or result, and the record is the poison record's JSON text (escaped, so a NUL or an
-- unpaired surrogate of the original cannot make Postgres refuse it too).
ALTER TABLE rejected_replies
  ALTER COLUMN backup_request_id DROP NOT NULL,
  ALTER COLUMN result_type_code DROP NOT NULL,
  ALTER COLUMN reply DROP NOT NULL,
  ADD COLUMN message_id text,
  ADD COLUMN poison_record text,
  ADD CONSTRAINT rejected_replies_reply_or_record CHECK (reply IS NOT NULL OR poison_record IS NOT NULL);

-- Down Migration

ALTER TABLE rejected_replies
  DROP CONSTRAINT rejected_replies_reply_or_record,
  DROP COLUMN poison_record,
  DROP COLUMN message_id;
DELETE FROM rejected_replies WHERE reply IS NULL OR backup_request_id IS NULL OR result_type_code IS NULL;
ALTER TABLE rejected_replies
  ALTER COLUMN backup_request_id SET NOT NULL,
  ALTER COLUMN result_type_code SET NOT NULL,
  ALTER COLUMN reply SET NOT NULL;
DROP TABLE reply_inbox;
