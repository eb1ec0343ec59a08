-- Up Migration

-- accept_backup_request's duplicate lookup gets one possible plan: the duplicate-lookup index.
-- PL/pgSQL caches a generic plan for each of its statements after five calls, made with the
-- table's statistics of that moment and kept until they change. Made on a nearly empty table (a
-- fresh deployment, a cold start), other plans cost the same as that index, and a connection that
-- kept one kept a plan that grows with the table:
--   - after an ANALYZE of the empty table, a sequential scan (test/integration/accept-lookup-cost);
--   - an index that yields `seq DESC` by itself, filtering the other columns row by row: the
--     requester's (requester_id, seq DESC), seen in the bench, or the unique index on seq scanned
--     backwards. Measured in the bench at 90/s
--     (pg_stat_statements, auto_explain): 142-601 buffers and 0.2-0.6 ms per lookup on average
--     over a 30 s run, up to 874 buffers, growing with the table; after the overload run (34,000
--     requests in a minute) the receiver's Postgres CPU was 4.6 ms per request instead of 0.6.
-- So the lookup is written so that no other plan can be chosen: it never plans a sequential scan
-- (the function's own setting, as the pipeline steps' pools have, libs/db pool.ts); the rows are
-- found in a MATERIALIZED CTE, planned on its own without the ORDER BY, so no index is chosen for
-- yielding `seq DESC` (the requester's, or the unique index on seq scanned backwards) and the few
-- rows found are sorted; and the requester's index becomes partial on `seq > 0` (every row: seq is
-- an identity from 1), so only a query that says `seq > 0` can use it: the list of a requester's
-- requests does (libs/db backup-requests/requests.ts), the lookup does not. What is left is the
-- duplicate-lookup index. (Planning the lookup on every call, EXECUTE, would also do, at ~0.07-0.1
-- ms more per accept, measured.)
DROP INDEX backup_requests_requester_seq;
CREATE INDEX backup_requests_requester_seq ON backup_requests (requester_id, seq DESC) WHERE seq > 0;

CREATE OR REPLACE FUNCTION accept_backup_request(
  p_id uuid, p_requester text, p_job text, p_date date, p_location text, p_trace text,
  p_lock bigint, p_resubmittable text[]
) RETURNS SETOF backup_requests
LANGUAGE plpgsql VOLATILE SET enable_seqscan = off AS $$
DECLARE
  existing backup_requests;
BEGIN
  PERFORM pg_advisory_xact_lock(p_lock);
  WITH live AS MATERIALIZED (
    SELECT * FROM backup_requests
    WHERE requester_id = p_requester AND backup_job_id = p_job AND data_date = p_date
      AND backup_data_location = p_location AND status <> ALL (p_resubmittable)
  )
  SELECT * INTO existing FROM live ORDER BY seq DESC LIMIT 1;
  IF FOUND THEN
    RETURN NEXT existing;
    RETURN;
  END IF;
  RETURN QUERY
    INSERT INTO backup_requests
      (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id)
    VALUES (p_id, p_requester, p_job, p_date, p_location, 'Received', p_trace)
    RETURNING *;
END
$$;

-- Down Migration

DROP INDEX backup_requests_requester_seq;
CREATE INDEX backup_requests_requester_seq ON backup_requests (requester_id, seq DESC);
CREATE OR REPLACE FUNCTION accept_backup_request(
  p_id uuid, p_requester text, p_job text, p_date date, p_location text, p_trace text,
  p_lock bigint, p_resubmittable text[]
) RETURNS SETOF backup_requests
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  existing backup_requests;
BEGIN
  PERFORM pg_advisory_xact_lock(p_lock);
  SELECT * INTO existing FROM backup_requests
  WHERE requester_id = p_requester AND backup_job_id = p_job AND data_date = p_date
    AND backup_data_location = p_location AND status <> ALL (p_resubmittable)
  ORDER BY seq DESC LIMIT 1;
  IF FOUND THEN
    RETURN NEXT existing;
    RETURN;
  END IF;
  RETURN QUERY
    INSERT INTO backup_requests
      (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id)
    VALUES (p_id, p_requester, p_job, p_date, p_location, 'Received', p_trace)
    RETURNING *;
END
$$;
