-- Up Migration

-- Client lifecycle and browser sessions (SPEC §5.2).
-- last_used_at: set when a receiver looks the key up (a cache miss), so it is accurate to within
-- the auth cache's lifetime (LINEBACKER_AUTH_CACHE_MS), not to the request.
ALTER TABLE api_clients ADD COLUMN last_used_at timestamptz;

-- A browser session: an opaque random id kept in the browser's cookie, stored here only as its
-- SHA-256. It expires after idle_ms without use (idle_expires_at moves on with each use) and at
-- expires_at whatever happens; sign-out deletes the row, disabling the client deletes its rows.
-- scopes: what the session may do (ops:read, plus jobs:admin when the key had it).
CREATE TABLE browser_sessions (
  session_hash    text PRIMARY KEY,
  client_id       text NOT NULL REFERENCES api_clients ON DELETE CASCADE,
  scopes          text[] NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  idle_expires_at timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL
);
CREATE INDEX browser_sessions_client ON browser_sessions (client_id);
-- pruning of expired sessions (the leader's expiring-rows duty) scans by expires_at
CREATE INDEX browser_sessions_expires ON browser_sessions (expires_at);

-- Down Migration

DROP TABLE browser_sessions;
ALTER TABLE api_clients DROP COLUMN last_used_at;
