-- Up Migration

-- Cheaper status changes (issue 10). A request's row is updated three times on its way through
-- the pipeline. An UPDATE that changes no indexed column can be a HOT update (heap-only: no new
-- entry in any index, less WAL, less vacuum), but `status` was indexed (backup_requests_open), so
-- every status change wrote a new entry into all five indexes of the table.
--
-- The open-request index now keys on `in_pipeline`, a stored generated column that changes only
-- when a request leaves the pipeline (or, rarely, comes back: Failed -> Succeeded keeps it false),
-- so Received -> Allowed -> Sent are HOT updates; the table keeps 30 % of each page free for the
-- new row versions. Queries for open requests say `in_pipeline AND status = ...` so the planner can
-- use the partial index.
-- (fillfactor first: adding a stored column rewrites the table, with the new fillfactor)
ALTER TABLE backup_requests SET (fillfactor = 70);
ALTER TABLE backup_requests
  ADD COLUMN in_pipeline boolean GENERATED ALWAYS AS (status IN ('Received', 'Allowed', 'Sent')) STORED;
DROP INDEX backup_requests_open;
CREATE INDEX backup_requests_in_pipeline ON backup_requests (received_at) WHERE in_pipeline;

-- The history table had two indexes for one access path (a request's rows in order): one is enough.
ALTER TABLE backup_request_status_history DROP CONSTRAINT backup_request_status_history_pkey;
DROP INDEX backup_request_status_history_request;
ALTER TABLE backup_request_status_history ADD PRIMARY KEY (backup_request_id, id);

-- Down Migration

ALTER TABLE backup_request_status_history DROP CONSTRAINT backup_request_status_history_pkey;
ALTER TABLE backup_request_status_history ADD PRIMARY KEY (id);
CREATE INDEX backup_request_status_history_request ON backup_request_status_history (backup_request_id, id);

ALTER TABLE backup_requests RESET (fillfactor);
DROP INDEX backup_requests_in_pipeline;
ALTER TABLE backup_requests DROP COLUMN in_pipeline;
CREATE INDEX backup_requests_open ON backup_requests (status, received_at)
  WHERE status IN ('Received', 'Allowed', 'Sent');
