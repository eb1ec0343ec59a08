import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azuriteConnectionString } from '@linebacker/config';
import { createAzureMessageQueue } from '@linebacker/interface-queue';
import { simulatedOutcome } from '../../apps/interface-simulator/src/simulated-outcome.js';
import { call } from '../support/api-client.js';
import { destroyPipeline, pm2, pm2List, startPipelineWithClient, type PipelineEnv } from '../support/pipeline.js';

const FAILURE_RATIO = 0.2;
const MALFORMED_RATIO = 0.1;
const WORKER_APPS = ['check-allowed', 'send-to-interface', 'external-queue-receiver', 'receive-status'];

let pipeline: PipelineEnv;
let pool: pg.Pool;
let apiKey: string;
let sequence = 0;

/** Where each request should end: NotAllowed by the catalogue, else the simulator's fate. */
function expectedStatus(backupJobId: string, backupRequestId: string): string {
  if (backupJobId !== 'active-a' && backupJobId !== 'active-b') return 'NotAllowed';
  const fate = simulatedOutcome(backupRequestId, FAILURE_RATIO, MALFORMED_RATIO);
  // a malformed reply goes to the poison queue; the request waits in Sent for a valid reply
  return fate === 'Malformed' ? 'Sent' : fate;
}

async function postRequests(count: number): Promise<{ id: string; backupJobId: string }[]> {
  const jobs = ['active-a', 'active-b', 'active-a', 'active-b', 'active-a', 'active-b', 'active-a', 'inactive', 'inactive', 'unknown'];
  const dataDate = new Date().toISOString().slice(0, 10);
  const posted: { id: string; backupJobId: string }[] = [];
  for (let i = 0; i < count; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, async () => {
        const n = sequence++;
        const backupJobId = jobs[n % jobs.length]!;
        const response = await call(pipeline.url, 'POST', '/api/v1/backup-requests', {
          token: apiKey,
          json: { backupJobId, dataDate, backupDataLocation: `/data/e2e/${n}` },
        });
        expect(response.status).toBe(202);
        return { id: response.body.backupRequestId as string, backupJobId };
      }),
    );
    posted.push(...batch);
  }
  return posted;
}

/** Waits until every request is where it should be; returns the mismatches left at the deadline. */
async function waitForExpected(requests: { id: string; backupJobId: string }[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ id: string; status: string }>(
      'SELECT backup_request_id AS id, status FROM backup_requests WHERE backup_request_id = ANY($1)',
      [requests.map((r) => r.id)],
    );
    const status = new Map(rows.map((row) => [row.id, row.status]));
    const wrong = requests.filter((r) => status.get(r.id) !== expectedStatus(r.backupJobId, r.id));
    if (wrong.length === 0 || Date.now() > deadline) {
      return wrong.map((r) => ({ ...r, status: status.get(r.id), expected: expectedStatus(r.backupJobId, r.id) }));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

beforeAll(async () => {
  ({ pipeline, pool, apiKey } = await startPipelineWithClient('e2e', {
    LINEBACKER_INTERFACE_REQUEST_QUEUE: 'e2e-requests',
    LINEBACKER_INTERFACE_STATUS_QUEUE: 'e2e-statuses',
    LINEBACKER_SIMULATOR_DELAY_MS: '0',
    LINEBACKER_SIMULATOR_FAILURE_RATIO: String(FAILURE_RATIO),
    LINEBACKER_SIMULATOR_MALFORMED_RATIO: String(MALFORMED_RATIO),
    LINEBACKER_RECEIVER_VISIBILITY_TIMEOUT_S: '5',
    // a line per request per step, with its trace id, is debug (info logs only what needs attention)
    LINEBACKER_LOG_LEVEL: 'debug',
  }));
});

afterAll(async () => {
  await pool?.end();
  if (pipeline) await destroyPipeline(pipeline);
});

describe('the whole pipeline under PM2 (SPEC §1)', () => {
  it('runs all eight apps, and /healthz shows them with the queues and requests', async () => {
    const names = (await pm2List(pipeline)).filter((p) => p.pm2_env.status === 'online').map((p) => p.name);
    const all = ['http-receiver', ...WORKER_APPS, 'notifier', 'azurite', 'interface-simulator'];
    expect(new Set(names)).toEqual(new Set(all));

    await expect
      .poll(async () => (await call(pipeline.url, 'GET', '/healthz', { token: apiKey })).body.status, { timeout: 15_000 })
      .toBe('ok');
    const { body } = await call(pipeline.url, 'GET', '/healthz', { token: apiKey });
    expect(body.pm2.available).toBe(true);
    expect(body.pm2.apps.map((a: { name: string }) => a.name).sort()).toEqual([...all].sort());
    for (const app of body.pm2.apps) {
      expect(app, app.name).toMatchObject({ instances: 1, online: 1, restarts: expect.any(Number), memoryBytes: expect.any(Number) });
      expect(app.memoryBytes, app.name).toBeGreaterThan(0);
    }
    expect(Object.keys(body.queues).sort()).toEqual(['allowed', 'created', 'status-received']);
    expect(body.requests.byStatus).toHaveProperty('Received');
    // every app but Azurite is in the instance registry, with the pid PM2 gave it, on this host
    const processes = (await pm2List(pipeline)).filter((p) => p.name !== 'azurite');
    expect(body.instances.map((i: { app: string; pid: number }) => `${i.app}:${i.pid}`).sort()).toEqual(processes.map((p) => `${p.name}:${p.pid}`).sort());
    expect(body.hosts).toHaveLength(1);
    expect(body.hosts[0].instances).toBe(processes.length);

    // every app of the pipeline must have a live instance: one stopped (it leaves the registry) makes /healthz degraded
    const status = async () => (await call(pipeline.url, 'GET', '/healthz', { token: apiKey })).body.status as string;
    await pm2(pipeline, 'stop', 'receive-status');
    await expect.poll(status, { timeout: 15_000 }).toBe('degraded');
    await pm2(pipeline, 'start', 'receive-status');
    await expect.poll(status, { timeout: 15_000 }).toBe('ok');
  });

  let first: { id: string; backupJobId: string }[] = [];

  it('takes 300 requests to the status each should reach, with one Backup per success', async () => {
    first = await postRequests(300);
    expect(await waitForExpected(first, 120_000)).toEqual([]);

    const { rows } = await pool.query<{ status: string; backups: number; requests: number }>(
      `SELECT r.status, count(b.*)::int AS backups, count(DISTINCT r.backup_request_id)::int AS requests
       FROM backup_requests r LEFT JOIN backups b USING (backup_request_id)
       WHERE r.backup_request_id = ANY($1) GROUP BY r.status`,
      [first.map((r) => r.id)],
    );
    for (const row of rows) expect(row.backups, row.status).toBe(row.status === 'Succeeded' ? row.requests : 0);
    expect(rows.map((r) => r.status).sort()).toEqual(['Failed', 'NotAllowed', 'Sent', 'Succeeded']);

    const reasons = await pool.query<{ backup_job_id: string; status_reason: string }>(
      `SELECT DISTINCT backup_job_id, status_reason FROM backup_requests WHERE status = 'NotAllowed' AND backup_request_id = ANY($1)`,
      [first.map((r) => r.id)],
    );
    expect(reasons.rows.sort((a, b) => a.backup_job_id.localeCompare(b.backup_job_id))).toEqual([
      { backup_job_id: 'inactive', status_reason: 'backup job is inactive' },
      { backup_job_id: 'unknown', status_reason: 'unknown backup job' },
    ]);

    const succeeded = first.find((r) => expectedStatus(r.backupJobId, r.id) === 'Succeeded')!;
    const shown = await call(pipeline.url, 'GET', `/api/v1/backup-requests/${succeeded.id}`, { token: apiKey });
    expect(shown.body.history.map((h: { status: string }) => h.status)).toEqual(['Received', 'Allowed', 'Sent', 'Succeeded']);
    expect(shown.body).toMatchObject({ backupProviderCode: 'CloudA', storagePathName: `vault/${succeeded.backupJobId}` });

    // at debug, its trace id is in the logs of all five apps (PM2 keeps one out-log per app)
    const logs = join(pipeline.pm2Home, 'logs');
    for (const app of ['http-receiver', ...WORKER_APPS]) {
      const text = await readFile(join(logs, `${app}-out.log`), 'utf8');
      expect(text.includes(`"traceId":"${shown.body.traceId}"`), app).toBe(true);
    }

    const malformed = first.filter((r) => expectedStatus(r.backupJobId, r.id) === 'Sent').length;
    const poison = createAzureMessageQueue(azuriteConnectionString('127.0.0.1', pipeline.azuritePort), 'e2e-statuses-poison');
    expect(await poison.approximateCount()).toBe(malformed);
  });

  it('loses nothing while every worker app is scaled to 3 and back to 1 under load', async () => {
    const flowing = postRequests(300);
    for (const app of WORKER_APPS) await pm2(pipeline, 'scale', app, '3');
    const counts = (await pm2List(pipeline)).reduce<Record<string, number>>((acc, p) => {
      if (p.pm2_env.status === 'online') acc[p.name] = (acc[p.name] ?? 0) + 1;
      return acc;
    }, {});
    for (const app of WORKER_APPS) expect(counts[app], app).toBe(3);
    // /healthz follows pm2 scale within a refresh or two
    const instancesInHealthz = async () => {
      const { body } = await call(pipeline.url, 'GET', '/healthz', { token: apiKey });
      return Object.fromEntries((body.pm2?.apps ?? []).map((a: { name: string; online: number }) => [a.name, a.online]));
    };
    await expect.poll(instancesInHealthz, { timeout: 10_000 }).toMatchObject(Object.fromEntries(WORKER_APPS.map((app) => [app, 3])));
    for (const app of WORKER_APPS) await pm2(pipeline, 'scale', app, '1');
    const second = await flowing;

    expect(await waitForExpected([...first, ...second], 150_000)).toEqual([]);
    const duplicates = await pool.query('SELECT backup_request_id FROM backups GROUP BY 1 HAVING count(*) > 1');
    expect(duplicates.rows).toEqual([]);
    const online = (await pm2List(pipeline)).filter((p) => WORKER_APPS.includes(p.name) && p.pm2_env.status === 'online');
    expect(online).toHaveLength(WORKER_APPS.length);
  });
});
