-- Up Migration

-- Accepting a request in one round trip (SPEC §2.3 duplicates, §6 persist first): take the
-- transaction-scoped lock on the duplicate tuple, return the live duplicate if there is one, else
-- insert the request and its first history row. Each statement of a VOLATILE function takes a
-- fresh snapshot in READ COMMITTED, so the duplicate check after the lock sees every request that
-- a concurrent equal POST committed while we waited.
CREATE FUNCTION accept_backup_request(
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
    WITH inserted AS (
      INSERT INTO backup_requests
        (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id)
      VALUES (p_id, p_requester, p_job, p_date, p_location, 'Received', p_trace)
      RETURNING *
    ), history AS (
      INSERT INTO backup_request_status_history (backup_request_id, status, at)
      SELECT backup_request_id, status, received_at FROM inserted
    )
    SELECT * FROM inserted;
END
$$;

-- Down Migration

DROP FUNCTION accept_backup_request(uuid, text, text, date, text, text, bigint, text[]);
