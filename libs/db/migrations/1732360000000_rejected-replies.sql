-- Up Migration

-- Replies from the backup interface that could not be applied (SPEC §4): for an unknown request,
-- or one still Received / NotAllowed. Kept for operators; counted in metrics.
CREATE TABLE rejected_replies (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  backup_request_id uuid NOT NULL,
  result_type_code  text NOT NULL,
  reason            text NOT NULL,
  reply             jsonb NOT NULL,
  rejected_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_replies_request ON rejected_replies (backup_request_id);

-- Down Migration

DROP TABLE rejected_replies;
