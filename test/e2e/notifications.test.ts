import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedOutcome } from '../../apps/interface-simulator/src/simulated-outcome.js';
import { call } from '../support/api-client.js';
import { destroyPipeline, npm, pm2, pm2List, startPipelineWithClient, type PipelineEnv } from '../support/pipeline.js';
import { startWebhookReceiver, verifyStandardWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

/*
 * Telling the requester (SPEC §8, issue 15) over the whole pipeline under PM2: every status change
 * of every request has exactly one event, equal to its history (NotAllowed, simulator failures and
 * the reply timeout included), and the notifier app delivers every one of them as a signed webhook
 * to an endpoint registered with the CLI, through a kill -9 of the notifier during a burst and with
 * `pm2 scale notifier 2`.
 */

const FAILURE_RATIO = 0.2;
const MALFORMED_RATIO = 0.1;
const REPLY_TIMEOUT_MS = 4000;
const JOBS = ['active-a', 'active-b', 'active-a', 'active-b', 'active-a', 'inactive', 'unknown'];

let pipeline: PipelineEnv;
let pool: pg.Pool;
let apiKey: string;
let hooks: WebhookReceiver;
let clientId: string;
let secret: string;
let sequence = 0;

/** Where a request ends: NotAllowed by the catalogue, else its simulated fate (malformed: Failed by the reply timeout). */
function expectedStatus(backupJobId: string, id: string): string {
  if (!backupJobId.startsWith('active')) return 'NotAllowed';
  const fate = simulatedOutcome(id, FAILURE_RATIO, MALFORMED_RATIO);
  return fate === 'Malformed' ? 'Failed' : fate;
}

async function post(count: number): Promise<{ id: string; backupJobId: string }[]> {
  const posted: { id: string; backupJobId: string }[] = [];
  for (let i = 0; i < count; i += 10) {
    posted.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(10, count - i) }, async () => {
          const n = sequence++;
          const backupJobId = JOBS[n % JOBS.length]!;
          const response = await call(pipeline.url, 'POST', '/api/v1/backup-requests', {
            token: apiKey,
            json: { backupJobId, dataDate: new Date().toISOString().slice(0, 10), backupDataLocation: `/data/notify/${n}` },
          });
          expect(response.status).toBe(202);
          return { id: response.body.backupRequestId as string, backupJobId };
        }),
      )),
    );
  }
  return posted;
}

async function settled(requests: { id: string; backupJobId: string }[], timeoutMs: number): Promise<void> {
  await expect
    .poll(
      async () => {
        const { rows } = await pool.query<{ id: string; status: string }>(
          'SELECT backup_request_id AS id, status FROM backup_requests WHERE backup_request_id = ANY($1)',
          [requests.map((r) => r.id)],
        );
        const status = new Map(rows.map((row) => [row.id, row.status]));
        return requests.filter((r) => status.get(r.id) !== expectedStatus(r.backupJobId, r.id)).length;
      },
      { timeout: timeoutMs, interval: 500 },
    )
    .toBe(0);
}

/** The event ids of these requests in the outbox. */
async function eventIds(requests: { id: string }[]): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT lpad(id::text, 16, '0') AS id FROM backup_request_events WHERE backup_request_id = ANY($1) ORDER BY id`,
    [requests.map((r) => r.id)],
  );
  return rows.map((row) => row.id);
}

/** The webhook-ids received with a 2xx answer. */
const deliveredIds = () => new Set(hooks.received.filter((hook) => hook.answered === 200).map((hook) => hook.id));

beforeAll(async () => {
  hooks = await startWebhookReceiver();
  ({ pipeline, pool, apiKey } = await startPipelineWithClient('notify', {
    LINEBACKER_INTERFACE_REQUEST_QUEUE: 'notify-requests',
    LINEBACKER_INTERFACE_STATUS_QUEUE: 'notify-statuses',
    LINEBACKER_SIMULATOR_DELAY_MS: '0',
    LINEBACKER_SIMULATOR_FAILURE_RATIO: String(FAILURE_RATIO),
    LINEBACKER_SIMULATOR_MALFORMED_RATIO: String(MALFORMED_RATIO),
    LINEBACKER_REPLY_TIMEOUT_MS: String(REPLY_TIMEOUT_MS),
    LINEBACKER_RECONCILE_INTERVAL_MS: '1000',
    LINEBACKER_RECOVERY_DELAY_MS: '1000',
    LINEBACKER_WEBHOOK_ALLOW_PRIVATE: 'true',
    LINEBACKER_WEBHOOK_TIMEOUT_MS: '2000',
    LINEBACKER_WEBHOOK_RETRY_START_MS: '200',
    LINEBACKER_WEBHOOK_RETRY_MAX_MS: '1000',
  }));
  // the operator registers the client's endpoint with the CLI (the secret is printed once)
  const { stdout: clients } = await npm(pipeline, 'run', '--silent', 'cli', '--', 'clients', 'list');
  clientId = (JSON.parse(clients) as { clients: { clientId: string; name: string }[] }).clients.find((c) => c.name === 'notify')!.clientId;
  const { stdout: added } = await npm(pipeline, 'run', '--silent', 'cli', '--', 'webhooks', 'add', '--client', clientId, '--url', `${hooks.url}/hooks`);
  const endpoint = JSON.parse(added) as { endpointId: string; secret: string; clientId: string; statuses: string[] };
  expect(endpoint).toMatchObject({ clientId, statuses: ['Received', 'Allowed', 'NotAllowed', 'Sent', 'Succeeded', 'Failed'] });
  secret = endpoint.secret;
});

afterAll(async () => {
  await pool?.end();
  if (pipeline) await destroyPipeline(pipeline);
  await hooks?.close();
});

describe('status events and webhooks over the whole pipeline (SPEC §8)', () => {
  let first: { id: string; backupJobId: string }[] = [];

  it('runs the notifier under PM2 with the other apps; /healthz expects it', async () => {
    const online = (await pm2List(pipeline)).filter((p) => p.pm2_env.status === 'online').map((p) => p.name);
    expect(online).toContain('notifier');
    await expect.poll(async () => (await call(pipeline.url, 'GET', '/healthz', { token: apiKey })).body.status, { timeout: 15_000 }).toBe('ok');
    await pm2(pipeline, 'stop', 'notifier');
    await expect.poll(async () => (await call(pipeline.url, 'GET', '/healthz', { token: apiKey })).body.status, { timeout: 15_000 }).toBe('degraded');
    await pm2(pipeline, 'start', 'notifier');
    await expect.poll(async () => (await call(pipeline.url, 'GET', '/healthz', { token: apiKey })).body.status, { timeout: 15_000 }).toBe('ok');
  });

  it('every status change of every request has exactly one event, equal to its history: NotAllowed, Failed, the reply timeout included', async () => {
    first = await post(120);
    await settled(first, 90_000);
    const { rows } = await pool.query<{ id: string; history: string | null; events: string | null; reasons: string[] }>(
      `SELECT r.backup_request_id AS id,
         (SELECT json_agg(json_build_object('s', status, 'p', previous_status, 'r', reason, 'at', at) ORDER BY id)::text
          FROM backup_request_status_history h WHERE h.backup_request_id = r.backup_request_id) AS history,
         (SELECT json_agg(json_build_object('s', status, 'p', previous_status, 'r', reason, 'at', at) ORDER BY id)::text
          FROM backup_request_events e WHERE e.backup_request_id = r.backup_request_id) AS events,
         ARRAY[r.status_reason] AS reasons
       FROM backup_requests r WHERE r.backup_request_id = ANY($1)`,
      [first.map((r) => r.id)],
    );
    expect(rows).toHaveLength(first.length);
    for (const row of rows) expect(row.events, row.id).toBe(row.history);
    const reasons = rows.map((row) => row.reasons[0]);
    expect(reasons).toContain('unknown backup job');
    expect(reasons).toContain('backup job is inactive');
    expect(reasons).toContain('no reply from backup interface'); // the reply timeout
    expect(first.some((r) => r.backupJobId.startsWith('active') && simulatedOutcome(r.id, FAILURE_RATIO, MALFORMED_RATIO) === 'Failed')).toBe(true);
    // one event per status change: as many events as history rows
    const counts = await pool.query<{ events: number; history: number }>(
      `SELECT (SELECT count(*) FROM backup_request_events WHERE backup_request_id = ANY($1))::int AS events,
              (SELECT count(*) FROM backup_request_status_history WHERE backup_request_id = ANY($1))::int AS history`,
      [first.map((r) => r.id)],
    );
    expect(counts.rows[0]!.events).toBe(counts.rows[0]!.history);
  });

  it('delivers every event to the endpoint, signed as the Standard Webhooks specification says', async () => {
    const expected = await eventIds(first);
    await expect.poll(() => expected.filter((id) => !deliveredIds().has(id)).length, { timeout: 30_000 }).toBe(0);
    for (const hook of hooks.received) {
      expect(verifyStandardWebhook(secret, hook), hook.id).toBe(true);
      expect(hook.event.requesterId).toBe(clientId);
      expect(hook.id).toBe(hook.event.eventId);
    }
    // how long after the change a webhook arrived (first attempts; `at` is the change's transaction time)
    const lags = hooks.received.filter((hook) => hook.attempt === 1).map((hook) => hook.receivedAt - Date.parse(hook.event.at)).sort((a, b) => a - b);
    const quantile = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))];
    console.log(`event → webhook received: p50 ${quantile(0.5)} ms, p95 ${quantile(0.95)} ms, max ${lags.at(-1)} ms over ${lags.length} events`);
    const { stdout } = await npm(pipeline, 'run', '--silent', 'cli', '--', 'webhooks', 'list', '--client', clientId);
    const [listed] = (JSON.parse(stdout) as { endpoints: { failing: boolean; lastDeliveredAt: string | null; secret?: string }[] }).endpoints;
    expect(listed).toMatchObject({ failing: false, lastDeliveredAt: expect.any(String) });
    expect(listed).not.toHaveProperty('secret');
    const metrics = await call(pipeline.url, 'GET', '/metrics', { token: apiKey });
    expect(metrics.body).toMatch(/linebacker_webhook_deliveries_total\{outcome="delivered"[^}]*\} [1-9]/);
  });

  it('loses no delivery when the notifier is killed with kill -9 during a burst (every event delivered at least once)', async () => {
    // slow answers, so that attempts are in flight when it dies
    hooks.behaviour = () => ({ status: 200, afterMs: 400 });
    const burst = post(150);
    const killed: number[] = [];
    for (const waitMs of [1500, 2500]) {
      await sleep(waitMs);
      const notifier = (await pm2List(pipeline)).find((p) => p.name === 'notifier' && p.pm2_env.status === 'online');
      expect(notifier).toBeDefined();
      process.kill(notifier!.pid, 'SIGKILL');
      killed.push(notifier!.pid);
      await expect.poll(async () => (await pm2List(pipeline)).some((p) => p.name === 'notifier' && p.pm2_env.status === 'online' && !killed.includes(p.pid)), { timeout: 30_000 }).toBe(true);
    }
    const requests = await burst;
    await settled(requests, 90_000);
    const expected = await eventIds(requests);
    // leases of the killed notifier end after LINEBACKER_WEBHOOK_TIMEOUT_MS + 5 s
    await expect.poll(() => expected.filter((id) => !deliveredIds().has(id)).length, { timeout: 60_000 }).toBe(0);
    const restarts = (await pm2List(pipeline)).find((p) => p.name === 'notifier')!.pm2_env.restart_time;
    expect(restarts).toBeGreaterThanOrEqual(2);
    const attempts = hooks.received.filter((hook) => expected.includes(hook.id));
    const cutOff = attempts.filter((hook) => hook.answered === 'hang').length;
    console.log(
      `kill -9 of the notifier x2 during a burst: ${expected.length} events, ${attempts.length} attempts received ` +
        `(${attempts.length - expected.length} repeated, ${cutOff} cut off by the kill)`,
    );
    hooks.behaviour = () => 200;
  });

  it('pm2 scale notifier 2: every event delivered, each once unless a notifier died', async () => {
    await pm2(pipeline, 'scale', 'notifier', '2');
    await expect.poll(async () => (await pm2List(pipeline)).filter((p) => p.name === 'notifier' && p.pm2_env.status === 'online').length, { timeout: 30_000 }).toBe(2);
    const before = hooks.received.length;
    const requests = await post(100);
    await settled(requests, 90_000);
    const expected = await eventIds(requests);
    await expect.poll(() => expected.filter((id) => !deliveredIds().has(id)).length, { timeout: 30_000 }).toBe(0);
    await sleep(2000);
    const received = hooks.received.slice(before).filter((hook) => expected.includes(hook.id));
    expect(received).toHaveLength(expected.length);
    await pm2(pipeline, 'scale', 'notifier', '1');
  });
});
