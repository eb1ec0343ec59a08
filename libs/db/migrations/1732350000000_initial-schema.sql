-- Up Migration

CREATE TABLE api_clients (
  client_id   text PRIMARY KEY,
  name        text NOT NULL,
  key_hash    text UNIQUE,
  scopes      text[] NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);
COMMENT ON COLUMN api_clients.key_hash IS 'SHA-256 (hex) of the API key; NULL for a client that only signs in with JWTs';

CREATE TABLE backup_jobs (
  backup_job_id        text PRIMARY KEY,
  storage_path_name    text NOT NULL,
  backup_provider_code text NOT NULL CHECK (backup_provider_code IN ('Local', 'CloudA', 'CloudB')),
  days_to_keep         integer NOT NULL CHECK (days_to_keep BETWEEN 1 AND 36500),
  is_active            boolean NOT NULL DEFAULT true,
  hold_flag            boolean NOT NULL DEFAULT false,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- backup_job_id deliberately has no foreign key: a request for an unknown job is accepted and then
-- recorded as NotAllowed ("unknown backup job") by check-allowed (SPEC §3).
CREATE TABLE backup_requests (
  backup_request_id    uuid PRIMARY KEY,
  seq                  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  requester_id         text NOT NULL,
  backup_job_id        text NOT NULL,
  data_date            date NOT NULL,
  backup_data_location text NOT NULL,
  status               text NOT NULL
    CHECK (status IN ('Received', 'Allowed', 'NotAllowed', 'Sent', 'Succeeded', 'Failed')),
  trace_id             text NOT NULL,
  received_at          timestamptz NOT NULL DEFAULT now(),
  checked_at           timestamptz,
  sent_at              timestamptz,
  replied_at           timestamptz,
  backup_provider_code text,
  storage_path_name    text,
  status_reason        text CHECK (char_length(status_reason) <= 500)
);
-- the caller's requests, newest first (list endpoint, cursor = seq)
CREATE INDEX backup_requests_requester_seq ON backup_requests (requester_id, seq DESC);
-- duplicate detection (SPEC §2.3)
CREATE INDEX backup_requests_duplicate_key
  ON backup_requests (requester_id, backup_job_id, data_date, backup_data_location);
-- recovery and reconciliation scan only the non-terminal requests
CREATE INDEX backup_requests_open ON backup_requests (status, received_at)
  WHERE status IN ('Received', 'Allowed', 'Sent');

CREATE TABLE backup_request_status_history (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  backup_request_id uuid NOT NULL REFERENCES backup_requests ON DELETE CASCADE,
  status            text NOT NULL,
  at                timestamptz NOT NULL DEFAULT now(),
  reason            text
);
CREATE INDEX backup_request_status_history_request ON backup_request_status_history (backup_request_id, id);

CREATE TABLE backups (
  backup_id              uuid PRIMARY KEY,
  backup_request_id      uuid NOT NULL UNIQUE REFERENCES backup_requests,
  backup_job_id          text NOT NULL,
  data_date              date NOT NULL,
  backup_provider_code   text NOT NULL,
  storage_path_name      text NOT NULL,
  backup_byte_count      bigint NOT NULL CHECK (backup_byte_count >= 0),
  copy_start_timestamp   timestamptz,
  copy_end_timestamp     timestamptz,
  verify_start_timestamp timestamptz,
  verify_end_timestamp   timestamptz,
  verified_hash          text,
  days_to_keep           integer NOT NULL,
  hold_flag              boolean NOT NULL,
  due_to_delete_date     date NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE idempotency_keys (
  client_id       text NOT NULL,
  idempotency_key text NOT NULL,
  request_hash    text NOT NULL,
  response_status integer NOT NULL,
  response_body   jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, idempotency_key)
);

-- Down Migration

DROP TABLE idempotency_keys;
DROP TABLE backups;
DROP TABLE backup_request_status_history;
DROP TABLE backup_requests;
DROP TABLE backup_jobs;
DROP TABLE api_clients;
