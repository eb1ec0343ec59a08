-- Up Migration

-- The status-event outbox (SPEC §8, issue 15): every status change of a request writes an event in
-- the same transaction, written by the same trigger as the status history, so no code path can
-- change a status without its event (accept_backup_request's insert included: Received).
--
-- A table of its own rather than more columns in the history: events are pruned after
-- LINEBACKER_EVENT_RETENTION_S (the leader's expiring rows), the history is kept for good.
--
-- Readers (the notifier's fan-out, the event stream) read "the events after id N" in id order and
-- resume after the last one they got (libs/db events/read-events.ts): ids must be handed out in
-- increasing order across sessions (CACHE 1, the default) and taken after the transaction has its
-- xid (the trigger runs after the request row changed), as for the history's watermark (migration
-- status-history-counts, libs/db commit-order/).
--
-- No foreign key to backup_requests (requests are never deleted, and the check would be one more
-- index lookup per change). Two indexes, each a cost on every status change (measured with
-- EXPLAIN (ANALYZE, WAL): the event row ~130 bytes of WAL, each btree entry ~55-115 more):
--   - the primary key (id): readers page through the events in id order from any position, and
--     pruning deletes the oldest ids first (libs/db retention/expiring-rows.ts `growsWith`); ids
--     only grow, so every insert goes to the rightmost leaf. Not a BRIN index as the history has:
--     pruning frees the oldest pages, new rows then fill them, and a BRIN index over a table whose
--     physical order no longer follows id (or `at`) matches nearly every page range;
--   - (requester_id, id): a client's events after N (the event stream of one client, resuming from
--     its Last-Event-ID, `0` = the oldest kept) without reading every other client's. One
--     request's events (`?backupRequestId=`) are read through it too (its requester's events after
--     N, filtered): no third index for a filter that is rarely resumed from far back.
CREATE TABLE backup_request_events (
  id                bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
  backup_request_id uuid NOT NULL,
  requester_id      text NOT NULL,
  backup_job_id     text NOT NULL,
  status            text NOT NULL,
  previous_status   text,
  reason            text,
  at                timestamptz NOT NULL DEFAULT now(),
  trace_id          text NOT NULL
);
CREATE INDEX backup_request_events_requester ON backup_request_events (requester_id, id);

-- The one trigger function of status changes (migrations status-history-trigger,
-- status-history-counts) now writes the event too. `at` of both rows is the transaction's now(),
-- as the request's timestamps are.
CREATE OR REPLACE FUNCTION record_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  previous text := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END;
BEGIN
  INSERT INTO backup_request_status_history (backup_request_id, status, reason, previous_status)
  VALUES (NEW.backup_request_id, NEW.status, NEW.status_reason, previous);
  INSERT INTO backup_request_events
    (backup_request_id, requester_id, backup_job_id, status, previous_status, reason, trace_id)
  VALUES (NEW.backup_request_id, NEW.requester_id, NEW.backup_job_id, NEW.status, previous, NEW.status_reason, NEW.trace_id);
  RETURN NULL;
END
$$;

-- Down Migration

CREATE OR REPLACE FUNCTION record_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO backup_request_status_history (backup_request_id, status, reason, previous_status)
  VALUES (NEW.backup_request_id, NEW.status, NEW.status_reason, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END);
  RETURN NULL;
END
$$;
DROP TABLE backup_request_events;
