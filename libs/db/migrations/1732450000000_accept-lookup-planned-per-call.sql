-- Up Migration

-- accept_backup_request's duplicate lookup is planned on every call (EXECUTE), not once per
-- connection. PL/pgSQL caches a generic plan for each of its statements after five calls, made with
-- the table's statistics of that moment and kept until they change. Made on a nearly empty table (a
-- fresh deployment, a cold start, a new database), that plan is the wrong one as soon as the table
-- grows: after an ANALYZE of an empty table it is a sequential scan; without one, the requester's
-- index (backup_requests_requester_seq, which also yields `seq DESC`) costs exactly what the
-- duplicate-lookup index costs on a small table, and some connections keep it, then filter every
-- request of the requester on each accept. Measured in the bench at 90/s (pg_stat_statements,
-- auto_explain): 142-601 buffers and 0.2-0.6 ms per lookup on average over a 30 s run, up to 874
-- buffers, growing with the table; after the overload run (34,000 requests in a minute), the
-- receiver's Postgres CPU was 4.6 ms per request instead of 0.6. A plan made per call uses the
-- parameters and the table's current size: the duplicate-lookup index, 2-4 buffers (planning costs
-- a few tens of microseconds). test/integration/accept-lookup-cost.test.ts.
CREATE OR REPLACE FUNCTION accept_backup_request(
  p_id uuid, p_requester text, p_job text, p_date date, p_location text, p_trace text,
  p_lock bigint, p_resubmittable text[]
) RETURNS SETOF backup_requests
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  existing backup_requests;
BEGIN
  PERFORM pg_advisory_xact_lock(p_lock);
  EXECUTE 'SELECT * FROM backup_requests
    WHERE requester_id = $1 AND backup_job_id = $2 AND data_date = $3
      AND backup_data_location = $4 AND status <> ALL ($5)
    ORDER BY seq DESC LIMIT 1'
    INTO existing USING p_requester, p_job, p_date, p_location, p_resubmittable;
  IF existing.backup_request_id IS NOT NULL THEN
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
