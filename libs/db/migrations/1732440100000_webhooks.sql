-- Up Migration

-- Webhooks (SPEC §8, issue 15). A client's endpoints; the notifier fans each status event out to
-- the matching endpoints as one delivery row per (endpoint, event), then delivers those rows.

-- `secret`: the Standard Webhooks secret (whsec_…), as is or sealed with
-- LINEBACKER_WEBHOOK_SECRET_KEY (AES-256-GCM, libs/domain webhook-secret.ts). `statuses`: NULL for
-- every status. `failing_since`: set when a delivery gave up after the whole retry window with no
-- delivery to the endpoint succeeding in that time; cleared by the next success.
CREATE TABLE webhook_endpoints (
  endpoint_id       uuid PRIMARY KEY,
  client_id         text NOT NULL REFERENCES api_clients ON DELETE CASCADE,
  url               text NOT NULL,
  statuses          text[],
  secret            text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_delivered_at timestamptz,
  failing_since     timestamptz
);
CREATE INDEX webhook_endpoints_client ON webhook_endpoints (client_id, created_at);

-- One delivery of one event to one endpoint (unique: the fan-out may run twice over an event).
-- `body`: the JSON text sent, the same bytes on every attempt (so the same signature input).
-- A delivery is pending until delivered_at or failed_at is set (finished_at); the notifier claims
-- due ones (next_attempt_at passed) with a lease: locked_until and next_attempt_at both set to the
-- lease's end, so a notifier that dies mid-attempt leaves a row that becomes due again when the
-- lease ends. attempts counts attempts started.
CREATE TABLE webhook_deliveries (
  delivery_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
  event_id         bigint NOT NULL,
  body             text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  locked_until     timestamptz,
  last_attempt_at  timestamptz,
  last_status_code integer,
  last_error       text,
  delivered_at     timestamptz,
  failed_at        timestamptz,
  finished_at      timestamptz GENERATED ALWAYS AS (coalesce(delivered_at, failed_at)) STORED,
  UNIQUE (endpoint_id, event_id)
);
-- what the notifier claims: an endpoint's pending deliveries, earliest due first
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE finished_at IS NULL;
-- attempts in flight per endpoint (the per-endpoint concurrency limit): only leased rows
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (endpoint_id) WHERE locked_until IS NOT NULL;
-- pruning of finished deliveries after LINEBACKER_DELIVERY_RETENTION_S
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;

-- How far the fan-out has read the event outbox: one row, moved forward in the same statement that
-- inserts the deliveries of the events it passed (conditionally on where it was: two notifiers
-- racing cannot both move it).
CREATE TABLE webhook_fanout (
  id             boolean PRIMARY KEY DEFAULT true CHECK (id),
  after_event_id bigint NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO webhook_fanout (after_event_id) VALUES (0);

-- Down Migration

DROP TABLE webhook_fanout;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
