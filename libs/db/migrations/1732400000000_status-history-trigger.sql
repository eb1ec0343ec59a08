-- Up Migration

-- The status history is written in one place (issue 11): a trigger on backup_requests records a
-- row for the first status of every request and for every change of status, with the reason the
-- row carries, in the same transaction as the change. No code path can change a status without
-- its history row, and no statement writes history rows itself any more.
CREATE FUNCTION record_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO backup_request_status_history (backup_request_id, status, reason)
  VALUES (NEW.backup_request_id, NEW.status, NEW.status_reason);
  RETURN NULL;
END
$$;

CREATE TRIGGER backup_requests_status_history_on_insert
  AFTER INSERT ON backup_requests
  FOR EACH ROW EXECUTE FUNCTION record_status_change();

CREATE TRIGGER backup_requests_status_history_on_change
  AFTER UPDATE OF status ON backup_requests
  FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION record_status_change();

-- accept_backup_request without its own history insert (the trigger writes it)
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

-- Down Migration

DROP TRIGGER backup_requests_status_history_on_change ON backup_requests;
DROP TRIGGER backup_requests_status_history_on_insert ON backup_requests;
DROP FUNCTION record_status_change();
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
