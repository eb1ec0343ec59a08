import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInterfaceQueues } from '@linebacker/interface-queue';
import { createLogger } from '@linebacker/runtime';
import { startInterfaceSimulator, type InterfaceSimulator } from '../../apps/interface-simulator/src/interface-simulator.js';
import { simulatedOutcome } from '../../apps/interface-simulator/src/simulated-outcome.js';
import { RECONCILIATION_LOCK_KEY } from '../../apps/http-receiver/src/reconciliation/start-reconciler.js';
import { call } from '../support/api-client.js';
import { startAzurite, type Azurite } from '../support/azurite.js';
import { destroyPipeline, isolatedPipelineEnv, killPipelineHard, npm, pm2List, startPipelineWithClient, type PipelineEnv } from '../support/pipeline.js';
import { testQueuePrefix } from '../support/test-database.js';

/*
 * Several hosts, one pipeline (SPEC §9, issue 14). Two complete pipelines, "host-a" and "host-b",
 * each with its own PM2 daemon (PM2_HOME), HTTP port and LINEBACKER_HOST_NAME, share one Postgres
 * database, one Redis prefix and the interface queues of one Azurite started here; the interface
 * simulator runs in this process, outside both hosts, as the real backup interface would.
 *   (a) With both up, /healthz on either host lists every app instance of both hosts, and each
 *       host's `pm2` shows its own PM2.
 *   (b) Under smooth load through both receivers, host A dies entirely (kill -9 of its PM2 daemon
 *       and every app) while the load goes on through B: every request either host accepted (and
 *       every one committed) reaches the status its fate predicts, one Backup per success; the
 *       leader duties move to B within a reconciliation interval (B's /healthz `leader` and the
 *       advisory lock's session in pg_locks); B's /healthz shows no host-A instance within three
 *       heartbeats. The figures are printed.
 *
 * Short form in `npm test` (LINEBACKER_CHAOS short); `npm run test:hosts` (or test:chaos) runs the
 * full one.
 */

const FULL = process.env.LINEBACKER_HOSTS === 'full' || process.env.LINEBACKER_CHAOS === 'full';
const PROFILE = FULL
  ? { ratePerSecond: 40, beforeKillMs: 30_000, afterKillMs: 30_000, settleMs: 180_000 }
  : { ratePerSecond: 20, beforeKillMs: 6_000, afterKillMs: 8_000, settleMs: 120_000 };
const HEARTBEAT_MS = 1000;
const RECONCILE_INTERVAL_MS = 2000;
const FAILURE_RATIO = 0.2;
const APPS = ['http-receiver', 'check-allowed', 'send-to-interface', 'external-queue-receiver', 'receive-status', 'notifier'];
const TERMINAL = new Set(['NotAllowed', 'Succeeded', 'Failed']);
const JOBS = ['active-a', 'active-b', 'active-a', 'active-b', 'inactive', 'unknown'];

let azurite: Azurite;
let azuriteDir: string;
let simulator: InterfaceSimulator | undefined;
let hostA: PipelineEnv | undefined;
let hostB: PipelineEnv | undefined;
let pool: pg.Pool;
let apiKey = '';
const t0 = Date.now();
const say = (message: string) => console.log(`[two hosts ${FULL ? 'full' : 'short'} ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}`);

beforeAll(async () => {
  // on tmpfs like the embedded Azurite (no in-memory garbage-collection stalls, ENVIRONMENT.md)
  azuriteDir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'lb-hosts-azurite-'));
  azurite = await startAzurite({ location: azuriteDir });
  const queues = createInterfaceQueues({
    connectionString: azurite.connectionString,
    requestQueue: 'hosts-requests',
    statusQueue: 'hosts-statuses',
    poisonQueue: 'hosts-statuses-poison',
  });
  await Promise.all([queues.requests.ensureExists(), queues.statuses.ensureExists()]);
  simulator = startInterfaceSimulator({
    queues,
    settings: { failureRatio: FAILURE_RATIO, malformedRatio: 0, delayMs: 50, maxIdlePollMs: 100 },
    logger: createLogger('interface-simulator', process.env.LINEBACKER_TEST_LOG ?? 'silent'),
  });

  const shared = {
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    LINEBACKER_INTERFACE_REQUEST_QUEUE: 'hosts-requests',
    LINEBACKER_INTERFACE_STATUS_QUEUE: 'hosts-statuses',
    LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
    LINEBACKER_HEARTBEAT_MS: String(HEARTBEAT_MS),
    // at most half a heartbeat: the 3-heartbeat bound of /healthz holds (README "Running on several hosts")
    LINEBACKER_HEALTH_REFRESH_MS: '500',
    LINEBACKER_RECONCILE_INTERVAL_MS: String(RECONCILE_INTERVAL_MS),
    LINEBACKER_RECONCILE_GRACE_MS: '2000',
    LINEBACKER_RECOVERY_DELAY_MS: '1000',
    LINEBACKER_RECEIVER_VISIBILITY_TIMEOUT_S: '5',
    LINEBACKER_RETRY_START_MS: '200',
    LINEBACKER_RETRY_MAX_MS: '2000',
  };
  // A first, and leading before B starts: the kill below takes the leader with it
  let started = Date.now();
  ({ pipeline: hostA, pool, apiKey } = await startPipelineWithClient('two-hosts', { ...shared, LINEBACKER_HOST_NAME: 'host-a' }));
  say(`host-a started (npm start, client, jobs) in ${Date.now() - started} ms at ${hostA.url}`);
  for (const deadline = Date.now() + 30_000; (await healthz(hostA).catch(() => undefined))?.leader?.host !== 'host-a'; await sleep(200)) {
    if (Date.now() > deadline) throw new Error('host-a did not take the leadership within 30 s');
  }
  started = Date.now();
  hostB = await isolatedPipelineEnv({ ...shared, LINEBACKER_HOST_NAME: 'host-b', DATABASE_URL: hostA.databaseUrl });
  await npm(hostB, 'start');
  say(`host-b started in ${Date.now() - started} ms at ${hostB.url}`);
});

afterAll(async () => {
  streaming = false;
  await Promise.allSettled(inFlight);
  await pool?.end().catch(() => {});
  await Promise.allSettled([hostA && destroyPipeline(hostA), hostB && destroyPipeline(hostB)]);
  await simulator?.stop();
  await azurite?.stop();
  if (azuriteDir) await rm(azuriteDir, { recursive: true, force: true });
});

async function healthz(host: PipelineEnv) {
  return (await call(host.url, 'GET', '/healthz', { token: apiKey })).body;
}
const pairsOf = (instances: { host: string; app: string }[] = []) => [...new Set(instances.map((i) => `${i.host}/${i.app}`))].sort();

// ---- smooth load through both receivers ---------------------------------------------------------

interface Attempt {
  n: number;
  host: 'host-a' | 'host-b';
  backupJobId: string;
  start: number;
  status?: number;
  error?: string;
  id?: string;
}
const attempts: Attempt[] = [];
const inFlight = new Set<Promise<void>>();
let streaming = false;
let hostADead = false;

async function postOne(n: number): Promise<void> {
  // alternate, as a load balancer would; once host A is gone only B gets requests
  const host = hostADead || n % 2 === 1 ? 'host-b' : 'host-a';
  const backupJobId = JOBS[n % JOBS.length]!;
  const attempt: Attempt = { n, host, backupJobId, start: Date.now() };
  attempts.push(attempt);
  try {
    const response = await fetch(`${(host === 'host-a' ? hostA : hostB)!.url}/api/v1/backup-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ backupJobId, dataDate: new Date().toISOString().slice(0, 10), backupDataLocation: `/data/hosts/${t0}/${n}` }),
      signal: AbortSignal.timeout(30_000),
    });
    attempt.status = response.status;
    const text = await response.text();
    if (response.status === 202 || response.status === 200) attempt.id = (JSON.parse(text) as { backupRequestId: string }).backupRequestId;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    attempt.error = cause?.code ?? (err as Error).name;
  }
}

/** Evenly spaced POSTs (open loop: a slow answer does not slow the offer) until stopped. */
async function stream(): Promise<void> {
  streaming = true;
  const intervalMs = 1000 / PROFILE.ratePerSecond;
  const begin = Date.now();
  for (let n = 0; streaming; n += 1) {
    const request = postOne(n).finally(() => inFlight.delete(request));
    inFlight.add(request);
    await sleep(Math.max(0, begin + (n + 1) * intervalMs - Date.now()));
  }
}

// ---- the tests ----------------------------------------------------------------------------------

describe(`two hosts, one pipeline (SPEC §9; ${FULL ? 'full' : 'short'})`, () => {
  it('(a) /healthz on either host lists every app instance of both hosts; pm2 is each host its own', async () => {
    const expected = ['host-a', 'host-b'].flatMap((host) => APPS.map((app) => `${host}/${app}`)).sort();
    for (const host of [hostA!, hostB!]) {
      await expect.poll(async () => pairsOf((await healthz(host)).instances), { timeout: 15_000 }).toEqual(expected);
      const body = await healthz(host);
      expect(body.status).toBe('ok');
      expect(body.hosts.map((h: { host: string; apps: Record<string, number> }) => [h.host, h.apps])).toEqual(
        ['host-a', 'host-b'].map((name) => [name, Object.fromEntries(APPS.map((app) => [app, 1]))]),
      );
      // the answering host's own PM2: its own five apps, each online, with pids that are its own
      expect(body.pm2.available).toBe(true);
      const own = await pm2List(host);
      expect(body.pm2.apps.map((a: { name: string }) => a.name).sort()).toEqual([...APPS].sort());
      const hostName = host === hostA ? 'host-a' : 'host-b';
      expect(body.instances.filter((i: { host: string }) => i.host === hostName).map((i: { pid: number }) => i.pid).sort()).toEqual(
        own.map((p) => p.pid).sort(),
      );
      expect(body.leader).toEqual({ host: 'host-a', pid: expect.any(Number) });
    }
  });

  it('(b) host A killed under load: everything accepted ends as predicted, the leader moves to B, A leaves B\'s /healthz within three heartbeats', async () => {
    const loading = stream();
    await sleep(PROFILE.beforeKillMs);

    const { pids, killedAt } = await killPipelineHard(hostA!);
    hostADead = true;
    const acceptedBeforeKill = attempts.filter((a) => a.id && a.start < killedAt).length;
    say(`host-a killed (kill -9 of ${pids.length} processes: PM2 daemon ${pids[0]}, apps ${pids.slice(1).join(', ')}) after ${acceptedBeforeKill} accepted requests`);

    // Watch B's /healthz while the load goes on through B. Each answer is placed at the moment B
    // answered it (generatedAt + ageMs, on this machine's clock), not when it arrived here: under
    // load an answer can take a second to arrive.
    interface Sample { answeredMs: number; generatedMs: number; leader?: string; hostAInstances: number }
    const samples: Sample[] = [];
    const watchUntil = killedAt + Math.max(3 * HEARTBEAT_MS, RECONCILE_INTERVAL_MS) + 5_000;
    while (Date.now() < watchUntil || !samples.some((s) => s.leader === 'host-b' && s.hostAInstances === 0)) {
      if (Date.now() > killedAt + 30_000) break;
      const body = await healthz(hostB!).catch(() => undefined);
      if (body?.generatedAt) {
        const generatedMs = Date.parse(body.generatedAt) - killedAt;
        samples.push({
          answeredMs: generatedMs + (body.ageMs as number),
          generatedMs,
          leader: body.leader?.host,
          hostAInstances: (body.instances as { host: string }[]).filter((i) => i.host === 'host-a').length,
        });
      }
      await sleep(50);
    }
    // host A's instances: last shown at / first gone at; the leader: first snapshot collected by host B
    const lastWithHostA = samples.filter((s) => s.hostAInstances > 0).at(-1)?.answeredMs;
    const firstWithoutHostA = samples.find((s) => s.hostAInstances === 0 && s.answeredMs > (lastWithHostA ?? -Infinity))?.answeredMs;
    const leaderMovedMs = samples.find((s) => s.leader === 'host-b')?.generatedMs;
    say(`B's /healthz: host-a instances last shown ${lastWithHostA} ms after the kill, none from ${firstWithoutHostA} ms; snapshot by leader host-b from ${leaderMovedMs} ms`);
    // the advisory lock is held by a session of host B's receiver (application_name names the host)
    const lock = await pool.query<{ application_name: string }>(
      `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [RECONCILIATION_LOCK_KEY],
    );

    await sleep(Math.max(0, PROFILE.afterKillMs - (Date.now() - killedAt)));
    streaming = false;
    await loading;
    await Promise.allSettled(inFlight);
    const loadEnd = Date.now();

    // ---- settle: every request terminal, where its fate says
    const expectedStatus = (row: { id: string; backup_job_id: string }) =>
      row.backup_job_id === 'active-a' || row.backup_job_id === 'active-b' ? simulatedOutcome(row.id, FAILURE_RATIO, 0) : 'NotAllowed';
    type Row = { id: string; backup_job_id: string; status: string };
    let rows: Row[] = [];
    for (const settleDeadline = Date.now() + PROFILE.settleMs; ; await sleep(1000)) {
      rows = (await pool.query<Row>('SELECT backup_request_id AS id, backup_job_id, status FROM backup_requests')).rows;
      if (rows.every((r) => r.status === expectedStatus(r)) || Date.now() > settleDeadline) break;
    }
    const settledMs = Date.now() - loadEnd;
    const backups = (
      await pool.query<{ duplicates: number; without_success: number; successes_without: number }>(`
        SELECT (SELECT count(*) FROM (SELECT backup_request_id FROM backups GROUP BY 1 HAVING count(*) > 1) d)::int AS duplicates,
               (SELECT count(*) FROM backups b JOIN backup_requests r USING (backup_request_id) WHERE r.status <> 'Succeeded')::int AS without_success,
               (SELECT count(*) FROM backup_requests r WHERE r.status = 'Succeeded'
                  AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.backup_request_id = r.backup_request_id))::int AS successes_without`)
    ).rows[0]!;

    const accepted = attempts.filter((a) => a.id);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const notTerminal = accepted.filter((a) => !TERMINAL.has(byId.get(a.id!)?.status ?? 'missing'));
    const wrong = rows.filter((r) => r.status !== expectedStatus(r));
    const acceptedIds = new Set(accepted.map((a) => a.id));
    const unacknowledged = rows.filter((r) => !acceptedIds.has(r.id));
    const outcomes = (host: string) =>
      JSON.stringify(
        attempts
          .filter((a) => a.host === host)
          .reduce<Record<string, number>>((acc, a) => ({ ...acc, [a.error ?? String(a.status)]: (acc[a.error ?? String(a.status)] ?? 0) + 1 }), {}),
      );
    const final = await healthz(hostB!);
    console.log(
      [
        `\n=== two hosts (${FULL ? 'full' : 'short'}): host-a killed under ${PROFILE.ratePerSecond}/s ===`,
        `  POSTs                                 ${attempts.length} (host-a ${outcomes('host-a')}, host-b ${outcomes('host-b')})`,
        `  accepted (202/200)                    ${accepted.length} (${acceptedBeforeKill} before the kill)`,
        `  committed but not acknowledged        ${unacknowledged.length}`,
        `  rows / terminal as predicted          ${rows.length} / ${rows.length - wrong.length}`,
        `  accepted, not terminal                ${notTerminal.length}`,
        `  duplicate Backups / Backups of non-Succeeded / Succeeded without Backup   ${backups.duplicates} / ${backups.without_success} / ${backups.successes_without}`,
        `  kill -> first snapshot of leader host-b   ${leaderMovedMs} ms (reconciliation interval ${RECONCILE_INTERVAL_MS} ms)`,
        `  kill -> host-a gone from B's /healthz      after ${lastWithHostA} ms, by ${firstWithoutHostA} ms (heartbeat ${HEARTBEAT_MS} ms; ${samples.length} answers watched)`,
        `  advisory lock held by                 ${lock.rows.map((r) => r.application_name).join(', ')}`,
        `  everything terminal                   ${settledMs} ms after the load ended`,
        `  B's /healthz at the end               ${final.status}, hosts ${JSON.stringify(final.hosts.map((h: { host: string }) => h.host))}`,
      ].join('\n'),
    );

    expect(acceptedBeforeKill).toBeGreaterThan(0);
    expect(accepted.filter((a) => a.host === 'host-b' && a.start > killedAt).length).toBeGreaterThan(0);
    expect(notTerminal.map((a) => `${a.id} (${a.host})`), 'accepted requests not terminal').toEqual([]);
    expect(wrong.map((r) => `${r.id}: ${r.status}, expected ${expectedStatus(r)}`), 'requests not where their fate says').toEqual([]);
    expect(backups).toEqual({ duplicates: 0, without_success: 0, successes_without: 0 });
    expect(leaderMovedMs, 'B took the leadership').toBeDefined();
    expect(leaderMovedMs!).toBeLessThanOrEqual(RECONCILE_INTERVAL_MS + 1500);
    expect(lock.rows.map((r) => r.application_name)).toEqual([expect.stringMatching(/^linebacker leader host-b pid \d+$/)]);
    // no answer of B later than 3 heartbeats after the kill shows an instance of host A, and there were such answers
    expect(firstWithoutHostA, "host A left B's /healthz").toBeDefined();
    expect(samples.filter((s) => s.answeredMs > 3 * HEARTBEAT_MS).length).toBeGreaterThan(0);
    expect(lastWithHostA ?? 0).toBeLessThanOrEqual(3 * HEARTBEAT_MS);
    expect(final.status).toBe('ok');
    expect(pairsOf(final.instances)).toEqual(APPS.map((app) => `host-b/${app}`).sort());
  });
});
