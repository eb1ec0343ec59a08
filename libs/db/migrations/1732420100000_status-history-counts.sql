-- Up Migration

-- Request counts by status without counting the table (issue 12; libs/db
-- backup-requests/request-counts.ts). The status history is an append-only log of every status
-- change, written by the trigger in the same transaction as the change. With the status each row
-- replaces, a row is a +1 for `status` and a -1 for `previous_status` (NULL for a request's first
-- status), so the counts at any moment are the counts at an earlier moment plus the rows written
-- since: the health collector counts the whole table once when it starts, then reads only the
-- rows above the last id it has folded in.
--
-- Rows written before this migration have no previous_status; they are never read as changes (the
-- collector's starting count covers them).
ALTER TABLE backup_request_status_history ADD COLUMN previous_status text;

CREATE OR REPLACE FUNCTION record_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO backup_request_status_history (backup_request_id, status, reason, previous_status)
  VALUES (NEW.backup_request_id, NEW.status, NEW.status_reason, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END);
  RETURN NULL;
END
$$;

-- "The rows above id N" must not cost an index entry per status change: a BRIN index on id (ids
-- grow with the heap, which this table only appends to) costs next to nothing on insert, where a
-- btree would add a leaf entry and ~70 bytes of WAL to every transition (measured). New page
-- ranges stay unsummarized, which a BRIN scan always reads, until VACUUM or the collector
-- (brin_summarize_new_values every 30 s) summarizes them.
CREATE INDEX backup_request_status_history_id_brin ON backup_request_status_history USING brin (id)
  WITH (pages_per_range = 8);

-- The collector's watermark relies on ids being handed out in increasing order across sessions
-- (one at a time, the default), and on every row being written by the trigger, after the change
-- of the request row, so that its transaction has an id (xid) before it takes a row id.
ALTER TABLE backup_request_status_history ALTER COLUMN id SET CACHE 1;

-- Down Migration

DROP INDEX backup_request_status_history_id_brin;
CREATE OR REPLACE FUNCTION record_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO backup_request_status_history (backup_request_id, status, reason)
  VALUES (NEW.backup_request_id, NEW.status, NEW.status_reason);
  RETURN NULL;
END
$$;
ALTER TABLE backup_request_status_history DROP COLUMN previous_status;
