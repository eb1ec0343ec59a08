import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { azuriteConnectionString } from '@linebacker/config';
import { createAzureMessageQueue, type PoisonRecord } from '@linebacker/interface-queue';
import { simulatedOutcome } from '../../apps/interface-simulator/src/simulated-outcome.js';
import {
  REPO_ROOT,
  createClientWithCli,
  destroyPipeline,
  isolatedPipelineEnv,
  npm,
  putTestJobs,
  simulatorDuplicateWarnings,
  type PipelineEnv,
} from '../support/pipeline.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../support/private-services.js';
import { startWebhookReceiver, verifyStandardWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

/*
 * The chaos suite of SPEC §6 (issue 4): a whole pipeline under real PM2, on a Redis and a Postgres
 * of its own (so FLUSHALL, stop/start and restart are real and the machine's shared servers are
 * never touched), takes a steady stream of POSTs while things die one after the other:
 *   kill -9 of every app at random moments (several times each), `pm2 reload http-receiver`,
 *   Redis FLUSHALL, Redis stop + start, a FLUSHALL while replies wait in the reply inbox
 *   (receive-status stopped), Postgres restart, the interface queue (Azurite) down, and hostile
 *   replies (oversized, NUL, huge hashes) injected into the status queue during a kill round.
 * The client has a webhook endpoint on a receiver in this process (SPEC §8); the notifier is
 * killed like the other workers.
 * Then, within a bounded time, every accepted request must reach the status its fate predicts
 * (catalogue → NotAllowed; simulator → Succeeded / Failed; malformed reply → Failed by the reply
 * timeout) — no reply is lost, whatever Redis went through —, with one Backup per success, no HTTP
 * failure during the reload, every malformed and hostile reply in the poison queue (or rejected
 * replies), every status change with exactly its one event, and every event delivered to the
 * webhook endpoint at least once, signed. The figures are printed.
 *
 * LINEBACKER_CHAOS=short (default; part of `npm test`) or full (`npm run test:chaos`).
 * LINEBACKER_CHAOS_SEED=<n> replays the same random moments.
 */

const run = promisify(execFile);
const MODE = process.env.LINEBACKER_CHAOS === 'full' ? 'full' : 'short';
const PROFILE = {
  short: { ratePerSecond: 20, posters: 6, maxRequests: 4_000, killRounds: 2, reloads: 1, azuriteDownMs: 10_000, pauseMs: 2_000, settleMs: 120_000 },
  full: { ratePerSecond: 40, posters: 10, maxRequests: 30_000, killRounds: 5, reloads: 3, azuriteDownMs: 30_000, pauseMs: 5_000, settleMs: 240_000 },
}[MODE];

const FAILURE_RATIO = 0.2;
const MALFORMED_RATIO = 0.05;
const REPLY_TIMEOUT_MS = 20_000;
const NO_REPLY_REASON = 'no reply from backup interface';
const STATUS_QUEUE = 'chaos-statuses';
const POISON_QUEUE = `${STATUS_QUEUE}-poison`;
const WORKER_APPS = ['check-allowed', 'send-to-interface', 'external-queue-receiver', 'receive-status', 'notifier'] as const;
const KILLED_APPS = [...WORKER_APPS, 'http-receiver'] as const;
const TERMINAL = new Set(['NotAllowed', 'Succeeded', 'Failed']);
const ACTIVE_JOBS = new Set(['active-a', 'active-b']);
const JOB_MIX = ['active-a', 'active-b', 'active-a', 'active-b', 'active-a', 'active-b', 'active-a', 'inactive', 'inactive', 'unknown'];

// a small seeded PRNG (mulberry32), so a run's random moments can be replayed
const SEED = Number(process.env.LINEBACKER_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
let rngState = SEED >>> 0;
function random(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (min: number, max: number) => Math.round(min + random() * (max - min));
function shuffled<T>(values: readonly T[]): T[] {
  const copy = [...values];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

let redis: PrivateRedis | undefined;
let postgres: PrivatePostgres | undefined;
let pipeline: PipelineEnv | undefined;
let pool: pg.Pool | undefined;
let apiKey = '';
let hooks: WebhookReceiver | undefined;
let webhookSecret = '';
const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const say = (message: string) => console.log(`[chaos ${MODE} ${clock()}] ${message}`);

const pm2 = (...args: string[]) => run(join(REPO_ROOT, 'node_modules/.bin/pm2'), args, { env: pipeline!.env, cwd: REPO_ROOT, timeout: 120_000 });

interface Pm2Process {
  name: string;
  pid: number;
  pm_id: number;
  pm2_env: { status: string; restart_time: number };
}
async function pm2Processes(): Promise<Pm2Process[]> {
  const { stdout } = await pm2('jlist');
  const json = stdout.split('\n').findLast((line) => line.startsWith('['));
  if (!json) throw new Error(`pm2 jlist printed no list: ${stdout}`);
  return JSON.parse(json) as Pm2Process[];
}

// ---------------------------------------------------------------------------------------------
// the request stream

interface Attempt {
  n: number;
  backupJobId: string;
  start: number;
  end: number;
  phase: string;
  status?: number;
  error?: string;
  id?: string;
}
const attempts: Attempt[] = [];
let phase = 'warm-up';
let streaming = false;

async function postOne(n: number): Promise<void> {
  const backupJobId = JOB_MIX[n % JOB_MIX.length]!;
  const attempt: Attempt = { n, backupJobId, start: Date.now(), end: 0, phase };
  try {
    const response = await fetch(`${pipeline!.url}/api/v1/backup-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ backupJobId, dataDate: new Date().toISOString().slice(0, 10), backupDataLocation: `/data/chaos/${SEED}/${n}` }),
      signal: AbortSignal.timeout(30_000),
    });
    attempt.status = response.status;
    const text = await response.text();
    if (response.status === 202 || response.status === 200) attempt.id = (JSON.parse(text) as { backupRequestId: string }).backupRequestId;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    attempt.error = cause?.code ?? cause?.message ?? (err as Error).name ?? String(err);
  }
  attempt.end = Date.now();
  attempts.push(attempt);
}

/** `posters` loops POSTing at `ratePerSecond` in all, until stopped or maxRequests were made. */
function startStream(): Promise<void> {
  streaming = true;
  let next = 0;
  const intervalMs = (1000 * PROFILE.posters) / PROFILE.ratePerSecond;
  const poster = async () => {
    while (streaming && next < PROFILE.maxRequests) {
      const started = Date.now();
      await postOne(next++);
      await sleep(Math.max(0, intervalMs - (Date.now() - started)));
    }
  };
  return Promise.all(Array.from({ length: PROFILE.posters }, poster)).then(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// the faults

interface Fault {
  what: string;
  start: number;
  end: number;
}
const faults: Fault[] = [];
const kills: Record<string, number> = Object.fromEntries(KILLED_APPS.map((app) => [app, 0]));

async function fault(what: string, act: () => Promise<void>): Promise<Fault> {
  const outer = phase;
  phase = what;
  const record: Fault = { what, start: Date.now(), end: 0 };
  say(`>> ${what}`);
  await act();
  record.end = Date.now();
  faults.push(record);
  say(`<< ${what} (${record.end - record.start} ms)`);
  phase = outer === 'warm-up' || outer === 'between faults' ? 'between faults' : outer;
  return record;
}

/** Waits until `app` has `count` online processes, none of them in `oldPids`. */
async function waitOnline(app: string, count: number, oldPids: number[] = [], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const online = (await pm2Processes()).filter((p) => p.name === app && p.pm2_env.status === 'online' && p.pid > 0);
    if (online.length >= count && !online.some((p) => oldPids.includes(p.pid))) return;
    if (Date.now() > deadline) throw new Error(`${app}: not back online within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/**
 * SIGKILLs one online process of `app` (PM2 restarts it). Resolves once the new process is online,
 * or at once with `waitOnline` when it cannot get ready yet (an app that needs the interface queue
 * reports ready only once the queue answers): the caller awaits the returned promise later.
 */
async function kill9(app: string, options: { wait: boolean } = { wait: true }): Promise<{ back: Promise<void> }> {
  const processes = (await pm2Processes()).filter((p) => p.name === app && p.pm2_env.status === 'online' && p.pid > 0);
  const victim = processes[Math.floor(random() * processes.length)];
  if (!victim) throw new Error(`${app}: no online process to kill`);
  let back: Promise<void> = Promise.resolve();
  await fault(`kill -9 ${app} (pid ${victim.pid})`, async () => {
    process.kill(victim.pid, 'SIGKILL');
    kills[app] = (kills[app] ?? 0) + 1;
    back = waitOnline(app, processes.length, [victim.pid], 120_000);
    if (options.wait) await back;
    else back.catch(() => {}); // observed by the caller
  });
  return { back }; // wrapped: an async function returning a promise would wait for it
}

async function killRound(apps: readonly string[]): Promise<void> {
  for (const app of shuffled(apps)) {
    await sleep(between(300, 2_500));
    await kill9(app);
  }
}

// ---------------------------------------------------------------------------------------------

interface RequestRow {
  id: string;
  backup_job_id: string;
  status: string;
  status_reason: string | null;
}

/** Where a request should end: NotAllowed by the catalogue, else its fate at the simulator. */
function expectedFinal(row: Pick<RequestRow, 'id' | 'backup_job_id'>): { status: string; reason?: string } {
  if (!ACTIVE_JOBS.has(row.backup_job_id)) return { status: 'NotAllowed' };
  const fate = simulatedOutcome(row.id, FAILURE_RATIO, MALFORMED_RATIO);
  return fate === 'Malformed' ? { status: 'Failed', reason: NO_REPLY_REASON } : { status: fate };
}

async function requestRows(): Promise<RequestRow[]> {
  const { rows } = await pool!.query<RequestRow>(
    'SELECT backup_request_id AS id, backup_job_id, status, status_reason FROM backup_requests',
  );
  return rows;
}

/** The poison queue's records, and those kept in rejected_replies when the poison queue refused them. */
async function poisonMessages(): Promise<PoisonRecord[]> {
  const poison = createAzureMessageQueue(azuriteConnectionString('127.0.0.1', pipeline!.azuritePort), POISON_QUEUE);
  const { rows } = await pool!.query<{ record: string }>(`SELECT poison_record AS record FROM rejected_replies WHERE poison_record IS NOT NULL`);
  const all = rows.map((row) => JSON.parse(row.record) as PoisonRecord);
  for (;;) {
    // received with a long visibility timeout: each message once, none deleted
    const batch = await poison.receive(32, 3_600);
    if (batch.length === 0) return all;
    for (const message of batch) all.push(JSON.parse(message.text) as PoisonRecord);
  }
}

/** Hostile replies (SPEC §4) as a misbehaving interface might send them; none names a real request. */
const hostileReplies = (): string[] => {
  const reply = {
    apiVersion: '2022-05-22',
    backupRequestId: randomUUID(),
    storagePathName: 'vault/hostile',
    resultTypeCode: 'Succeeded',
    backupByteCount: 1,
    copyStartTimestamp: new Date().toISOString(),
    copyEndTimestamp: new Date().toISOString(),
  };
  return [
    `hostile ${randomUUID()} ${'x'.repeat(60 * 1024)}`,
    `"${randomUUID()}${'"'.repeat(40 * 1024)}`,
    JSON.stringify({ ...reply, messageText: `nul \u0000 ${randomUUID()}` }),
    JSON.stringify({ ...reply, backupRequestId: randomUUID(), verifiedHash: 'f'.repeat(20_000) }),
  ];
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const table = (title: string, rows: [string, string | number][]) => {
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log([`\n=== ${title} ===`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n'));
};

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  say(`seed ${SEED} (LINEBACKER_CHAOS_SEED=${SEED} replays it)`);
  [redis, postgres] = await Promise.all([startPrivateRedis(), startPrivatePostgres()]);
  say(`private Redis ${redis.url}, private Postgres ${postgres.serverUrl}`);
  pipeline = await isolatedPipelineEnv({
    DATABASE_URL: `${postgres.serverUrl}/linebacker_chaos`,
    REDIS_URL: redis.url,
    LINEBACKER_QUEUE_PREFIX: 'chaos',
    LINEBACKER_HTTP_INSTANCES: '2',
    LINEBACKER_INTERFACE_REQUEST_QUEUE: 'chaos-requests',
    LINEBACKER_INTERFACE_STATUS_QUEUE: STATUS_QUEUE,
    LINEBACKER_SIMULATOR_DELAY_MS: '50',
    LINEBACKER_SIMULATOR_FAILURE_RATIO: String(FAILURE_RATIO),
    LINEBACKER_SIMULATOR_MALFORMED_RATIO: String(MALFORMED_RATIO),
    LINEBACKER_RETRY_START_MS: '200',
    LINEBACKER_RETRY_MAX_MS: '2000',
    LINEBACKER_RECONCILE_INTERVAL_MS: '2000',
    LINEBACKER_RECONCILE_GRACE_MS: '2000',
    LINEBACKER_RECOVERY_DELAY_MS: '1000',
    LINEBACKER_REPLY_TIMEOUT_MS: String(REPLY_TIMEOUT_MS),
    LINEBACKER_RECEIVER_VISIBILITY_TIMEOUT_S: '5',
    LINEBACKER_LOG_LEVEL: 'info',
    LINEBACKER_WEBHOOK_ALLOW_PRIVATE: 'true',
    LINEBACKER_WEBHOOK_TIMEOUT_MS: '2000',
    LINEBACKER_WEBHOOK_RETRY_START_MS: '200',
    LINEBACKER_WEBHOOK_RETRY_MAX_MS: '2000',
  });
  hooks = await startWebhookReceiver();
  const started = Date.now();
  await npm(pipeline, 'start');
  say(`npm start took ${Date.now() - started} ms`);
  pool = new pg.Pool({ connectionString: pipeline.databaseUrl, max: 2 });
  pool.on('error', () => {}); // the restart below terminates its idle clients
  apiKey = await createClientWithCli(pipeline, 'chaos', 'requests:write,requests:read,jobs:admin');
  await putTestJobs(pipeline, apiKey);
  const endpoint = await fetch(`${pipeline.url}/api/v1/webhook-endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${hooks.url}/chaos` }),
  });
  if (endpoint.status !== 201) throw new Error(`webhook endpoint: ${endpoint.status} ${await endpoint.text()}`);
  webhookSecret = ((await endpoint.json()) as { secret: string }).secret;
});

let keepLogs = false;

afterAll(async () => {
  streaming = false;
  await pool?.end().catch(() => {});
  if (keepLogs && pipeline) {
    const kept = await mkdtemp(join(tmpdir(), `lb-chaos-logs-${SEED}-`));
    await cp(join(pipeline.pm2Home, 'logs'), kept, { recursive: true }).catch(() => {});
    console.log(`chaos failed: the PM2 logs of the pipeline are kept in ${kept}`);
  }
  if (pipeline) await destroyPipeline(pipeline);
  await Promise.allSettled([redis?.destroy(), postgres?.destroy(), hooks?.close()]);
});

describe(`chaos (${MODE}): nothing accepted is lost or stuck, whatever dies (SPEC §6)`, () => {
  it('survives kill -9 of every app, reloads, Redis FLUSHALL and restart, Postgres restart and an interface queue outage', async () => {
    onTestFailed(() => {
      keepLogs = true;
    });
    const chaosStart = Date.now();
    const stream = startStream();
    await sleep(3_000);
    phase = 'between faults';

    let inboxWaitingAtFlush = 0;
    const unappliedReplies = async () =>
      (await pool!.query<{ n: number }>(`SELECT count(*)::int AS n FROM reply_inbox WHERE applied_at IS NULL`)).rows[0]!.n;
    const hostile: string[] = [];
    const reloads: Fault[] = [];
    const reload = async () => {
      reloads.push(
        await fault('pm2 reload http-receiver', async () => {
          await pm2('reload', 'http-receiver');
          await waitOnline('http-receiver', 2);
        }),
      );
    };

    await killRound(KILLED_APPS);
    await sleep(PROFILE.pauseMs);
    await reload();
    await sleep(PROFILE.pauseMs);
    await fault('Redis FLUSHALL', () => redis!.flushAll());
    await sleep(PROFILE.pauseMs);
    // SPEC §4: replies taken off the interface queue and not yet applied survive a Redis wipe
    await fault('receive-status stopped, replies taken, Redis FLUSHALL, receive-status started', async () => {
      await pm2('stop', 'receive-status');
      const deadline = Date.now() + 30_000;
      while ((inboxWaitingAtFlush = await unappliedReplies()) < 20 && Date.now() < deadline) await sleep(200);
      await redis!.flushAll();
      await pm2('start', 'receive-status');
      await waitOnline('receive-status', 1);
    });
    await sleep(PROFILE.pauseMs);
    await fault('Redis stop (5 s) + start', async () => {
      await redis!.stop();
      await sleep(5_000);
      await redis!.start();
    });
    await sleep(PROFILE.pauseMs);
    if (PROFILE.reloads > 1) await reload();
    await fault('hostile replies injected', async () => {
      const statuses = createAzureMessageQueue(azuriteConnectionString('127.0.0.1', pipeline!.azuritePort), STATUS_QUEUE);
      for (const text of hostileReplies()) {
        hostile.push(text);
        await statuses.send(text);
      }
    });
    await killRound(WORKER_APPS);
    await fault('Postgres restart (3 s down)', () => postgres!.restart(3_000));
    await sleep(PROFILE.pauseMs);
    await fault(`Azurite down ${PROFILE.azuriteDownMs / 1000} s`, async () => {
      await pm2('stop', 'azurite');
      // full form: meanwhile kill what talks to the interface queues; they cannot report ready
      // before the queue is back, so their restarts are awaited after it
      const restarts: Promise<void>[] = [];
      await sleep(PROFILE.azuriteDownMs / 3);
      if (MODE === 'full') restarts.push((await kill9('send-to-interface', { wait: false })).back);
      await sleep(PROFILE.azuriteDownMs / 3);
      if (MODE === 'full') restarts.push((await kill9('external-queue-receiver', { wait: false })).back);
      await sleep(PROFILE.azuriteDownMs / 3);
      await pm2('start', 'azurite');
      await Promise.all(restarts);
    });
    phase = 'between faults';
    for (let round = 3; round <= PROFILE.killRounds; round += 1) {
      await sleep(PROFILE.pauseMs);
      await killRound(round % 2 === 0 ? WORKER_APPS : KILLED_APPS);
      if (PROFILE.reloads > 2 && round === PROFILE.killRounds) await reload();
    }
    await sleep(3_000);
    phase = 'tail';
    streaming = false;
    await stream;
    const streamEnd = Date.now();
    say(`stream stopped after ${attempts.length} POSTs in ${((streamEnd - chaosStart) / 1000).toFixed(0)} s; waiting for every request to settle`);

    // ---- settle: every request terminal and where its fate says, within a bound
    const accepted = attempts.filter((a) => a.id !== undefined);
    const acceptedIds = new Set(accepted.map((a) => a.id!));
    let rows: RequestRow[] = [];
    const settleDeadline = Date.now() + PROFILE.settleMs;
    // done when every request is terminal and where its fate says
    for (;;) {
      rows = await requestRows().catch(() => rows);
      const differing = rows.filter((r) => !TERMINAL.has(r.status) || r.status !== expectedFinal(r).status);
      if (differing.length === 0 || Date.now() > settleDeadline) break;
      await sleep(1_000);
    }
    const settleMs = Date.now() - streamEnd;

    // ---- webhooks: every event of every accepted request delivered at least once (after the drain)
    const events = async () =>
      (await pool!.query<{ id: string }>(`SELECT lpad(id::text, 16, '0') AS id FROM backup_request_events ORDER BY id`)).rows.map((row) => row.id);
    const deliveredIds = () => new Set(hooks!.received.filter((hook) => hook.answered === 200).map((hook) => hook.id));
    let allEvents: string[] = [];
    let undelivered: string[] = [];
    const drainDeadline = Date.now() + 90_000;
    for (;;) {
      allEvents = await events().catch(() => allEvents);
      const delivered = deliveredIds();
      undelivered = allEvents.filter((id) => !delivered.has(id));
      if (undelivered.length === 0 || Date.now() > drainDeadline) break;
      await sleep(1_000);
    }
    const webhookDrainMs = Date.now() - streamEnd - settleMs;
    const badSignatures = hooks!.received.filter((hook) => !verifyStandardWebhook(webhookSecret, hook, 3600));
    const eventMismatches = await pool!.query<{ id: string }>(
      `SELECT r.backup_request_id AS id FROM backup_requests r
       WHERE (SELECT array_agg(status ORDER BY id) FROM backup_request_status_history h WHERE h.backup_request_id = r.backup_request_id)
             IS DISTINCT FROM (SELECT array_agg(status ORDER BY id) FROM backup_request_events e WHERE e.backup_request_id = r.backup_request_id)`,
    );

    // ---- the figures
    const byId = new Map(rows.map((r) => [r.id, r]));
    const lost = [...acceptedIds].filter((id) => !TERMINAL.has(byId.get(id)?.status ?? 'missing'));
    const missing = [...acceptedIds].filter((id) => !byId.has(id));
    const unacknowledged = rows.filter((r) => !acceptedIds.has(r.id)); // committed, but the client saw no 2xx
    const stuck = rows.filter((r) => !TERMINAL.has(r.status));
    const wrong = rows.filter((r) => TERMINAL.has(r.status) && r.status !== expectedFinal(r).status);
    const wrongNoReply = wrong.filter((r) => r.status === 'Failed' && r.status_reason === NO_REPLY_REASON);
    const malformedWrongReason = rows.filter((r) => {
      const expected = expectedFinal(r);
      return expected.reason !== undefined && r.status === expected.status && r.status_reason !== expected.reason;
    });
    const statusCounts = rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

    const backups = await pool!.query<{ duplicates: number; without_success: number; successes_without: number }>(`
      SELECT (SELECT count(*) FROM (SELECT backup_request_id FROM backups GROUP BY 1 HAVING count(*) > 1) d)::int AS duplicates,
             (SELECT count(*) FROM backups b JOIN backup_requests r USING (backup_request_id) WHERE r.status <> 'Succeeded')::int AS without_success,
             (SELECT count(*) FROM backup_requests r WHERE r.status = 'Succeeded'
                AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.backup_request_id = r.backup_request_id))::int AS successes_without`);
    const { duplicates: duplicateBackups, without_success: backupsWithoutSuccess, successes_without: successesWithoutBackup } = backups.rows[0]!;

    // HTTP outcomes
    const failedDuringReload = attempts.filter(
      (a) => (a.error !== undefined || (a.status ?? 0) >= 500) && reloads.some((r) => a.end >= r.start && a.start <= r.end + 1_000),
    );
    const outcomeKey = (a: Attempt) => (a.error ? `error ${a.error}` : String(a.status));
    const outcomesByPhase = new Map<string, Map<string, number>>();
    for (const a of attempts) {
      const key = a.phase.replace(/ \(pid \d+\)/, '');
      const counts = outcomesByPhase.get(key) ?? new Map<string, number>();
      counts.set(outcomeKey(a), (counts.get(outcomeKey(a)) ?? 0) + 1);
      outcomesByPhase.set(key, counts);
    }

    // outbound duplicates, as the interface saw them
    const duplicateWarnings = await simulatorDuplicateWarnings(pipeline!);
    const duplicatedRequests = new Set(duplicateWarnings.map((d) => d.backupRequestId));
    const attribute = (at: number) => faults.filter((f) => f.start <= at).sort((a, b) => a.start - b.start).at(-1)?.what.replace(/ \(pid \d+\)/, '') ?? 'before any fault';
    const duplicatesByFault = new Map<string, number>();
    for (const d of duplicateWarnings) duplicatesByFault.set(attribute(d.at), (duplicatesByFault.get(attribute(d.at)) ?? 0) + 1);
    // The simulator replies first and deletes the request after; while Azurite is down it can do
    // neither, and the request comes back after the simulator's 30 s visibility timeout: those
    // warnings are the simulator's own redeliveries, not second messages from send-to-interface.
    const azuriteOutage = faults.find((f) => f.what.startsWith('Azurite down'));
    const redeliveries = duplicateWarnings.filter((d) => azuriteOutage && d.at >= azuriteOutage.start && d.at <= azuriteOutage.end + 40_000);

    // poison: every malformed and every hostile reply, and only those
    const allPoison = await poisonMessages();
    const hostileHashes = new Set(hostile.map(sha256));
    const poison = allPoison.filter((p) => !hostileHashes.has(p.sha256));
    const hostileMissing = [...hostileHashes].filter((hash) => !allPoison.some((p) => p.sha256 === hash));
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
    const poisonRequestIds = new Set(poison.map((p) => uuid.exec(p.text)?.[0] ?? `unparsed:${p.messageId}`));
    const poisonSourceMessages = new Set(poison.map((p) => p.messageId));
    // requests that reached the interface with a malformed fate (NotAllowed ones never go out)
    const sentMalformed = rows.filter((r) => ACTIVE_JOBS.has(r.backup_job_id) && expectedFinal(r).reason === NO_REPLY_REASON);
    const sentMalformedIds = new Set(sentMalformed.map((r) => r.id));
    const malformedDuplicates = duplicateWarnings.filter((d) => sentMalformedIds.has(d.backupRequestId)).length;
    const poisonNotMalformed = [...poisonRequestIds].filter((id) => !sentMalformedIds.has(id));
    const malformedNotInPoison = [...sentMalformedIds].filter((id) => !poisonRequestIds.has(id));

    const processes = await pm2Processes();
    const restarts = Object.fromEntries(
      [...new Set(processes.map((p) => p.name))].map((name) => [
        name,
        processes.filter((p) => p.name === name).reduce((sum, p) => sum + p.pm2_env.restart_time, 0),
      ]),
    );
    const offline = processes.filter((p) => p.pm2_env.status !== 'online').map((p) => `${p.name}#${p.pm_id}:${p.pm2_env.status}`);

    table(`chaos ${MODE} (seed ${SEED}): requests`, [
      ['POSTs made', attempts.length],
      ['accepted (202/200)', accepted.length],
      ['  of which 200 (duplicate POST)', accepted.filter((a) => a.status === 200).length],
      ['rows in Postgres', rows.length],
      ['  committed but not acknowledged', unacknowledged.length],
      ['terminal requests', rows.length - stuck.length],
      ['  by status', JSON.stringify(statusCounts)],
      ['LOST (accepted, not terminal)', lost.length],
      ['  accepted but missing in Postgres', missing.length],
      ['stuck (any row not terminal)', stuck.length],
      ['final status != predicted', wrong.length],
      ['  of which Failed "no reply" (a reply lost)', wrongNoReply.length],
      ['replies waiting in the inbox when Redis was flushed', inboxWaitingAtFlush],
      ['malformed fate, Failed but other reason', malformedWrongReason.length],
      ['duplicate Backups', duplicateBackups],
      ['Backups of non-Succeeded requests', backupsWithoutSuccess],
      ['Succeeded without a Backup', successesWithoutBackup],
      ['settled in', `${(settleMs / 1000).toFixed(1)} s after the stream stopped (bound ${PROFILE.settleMs / 1000} s)`],
    ]);
    table('outbound duplicates (interface-simulator "duplicate backup request" warnings)', [
      ['kills of send-to-interface', kills['send-to-interface']!],
      ['requests sent more than once', duplicatedRequests.size],
      ['duplicate deliveries seen', duplicateWarnings.length],
      ['max deliveries of one request', Math.max(1, ...duplicateWarnings.map((d) => d.times))],
      ...[...duplicatesByFault].map(([what, n]): [string, number] => [`  after "${what}"`, n]),
      ['  of which within 40 s of the Azurite outage (simulator redelivery)', redeliveries.length],
    ]);
    table('poison queue', [
      ['requests sent with a malformed fate', sentMalformedIds.size],
      ['  re-deliveries of those (simulator warnings)', malformedDuplicates],
      ['poison messages', poison.length],
      ['  distinct source messages', poisonSourceMessages.size],
      ['  distinct requests', poisonRequestIds.size],
      ['poisoned but not malformed', poisonNotMalformed.length],
      ['malformed but not in poison', malformedNotInPoison.length],
      ['hostile replies injected', hostile.length],
      ['  not in poison (queue or rejected replies)', hostileMissing.length],
    ]);
    // connection errors and 5xx other than the 503s of the Postgres restart, with when they happened
    const httpFailures = attempts
      .filter((a) => a.error !== undefined || ((a.status ?? 0) >= 500 && !a.phase.startsWith('Postgres')))
      .map((a) => `#${a.n} ${outcomeKey(a)} at ${((a.start - chaosStart) / 1000).toFixed(1)} s (+${a.end - a.start} ms), after "${attribute(a.start)}"`);
    table('HTTP', [
      ['failed during pm2 reload (error or 5xx)', failedDuringReload.length],
      ...[...outcomesByPhase].map(([p, counts]): [string, string] => [p, JSON.stringify(Object.fromEntries(counts))]),
      ...httpFailures.slice(0, 20).map((f): [string, string] => ['  failure', f]),
    ]);
    table('webhooks (one endpoint of the client, SPEC §8)', [
      ['status events (= history rows)', allEvents.length],
      ['requests whose events differ from their history', eventMismatches.rows.length],
      ['events delivered (2xx)', allEvents.length - undelivered.length],
      ['NOT DELIVERED', undelivered.length],
      ['attempts received', hooks!.received.length],
      ['  repeated deliveries (at least once)', hooks!.received.filter((hook) => hook.answered === 200).length - deliveredIds().size],
      ['  attempts cut off (killed notifier)', hooks!.received.filter((hook) => hook.answered === 'hang').length],
      ['  bad signatures', badSignatures.length],
      ['drained in', `${(webhookDrainMs / 1000).toFixed(1)} s after the requests settled`],
    ]);
    table('faults', [
      ...[...faults].sort((a, b) => a.start - b.start).map((f): [string, string] => [f.what, `at ${((f.start - chaosStart) / 1000).toFixed(1)} s, ${f.end - f.start} ms`]),
      ['kills', JSON.stringify(kills)],
      ['PM2 restarts at the end', JSON.stringify(restarts)],
      ['not online at the end', offline.join(', ') || 'none'],
    ]);
    if (wrong.length > 0 || stuck.length > 0) {
      // UUIDv7: the first 48 bits are the creation time in ms
      const created = (id: string) => `${((parseInt(id.replaceAll('-', '').slice(0, 12), 16) - chaosStart) / 1000).toFixed(1)} s`;
      console.log('first mismatches:', [...stuck, ...wrong].slice(0, 20).map((r) => ({ ...r, created: created(r.id), expected: expectedFinal(r) })));
    }
    if (failedDuringReload.length > 0) {
      console.log('failed during reload:', failedDuringReload.slice(0, 20).map((a) => ({ ...a, at: `${((a.start - chaosStart) / 1000).toFixed(1)} s` })));
    }
    if (duplicateWarnings.length > 0) {
      const shown = duplicateWarnings.slice(0, 10);
      const history = await pool!.query<{ id: string; status: string; at: Date }>(
        'SELECT backup_request_id AS id, status, at FROM backup_request_status_history WHERE backup_request_id = ANY($1) ORDER BY id, at',
        [shown.map((d) => d.backupRequestId)],
      );
      const relative = (ms: number) => `${((ms - chaosStart) / 1000).toFixed(1)}s`;
      console.log(
        'outbound duplicates (first 10):',
        shown.map((d) => ({
          at: relative(d.at),
          backupRequestId: d.backupRequestId,
          times: d.times,
          history: history.rows.filter((h) => h.id === d.backupRequestId).map((h) => `${h.status}@${relative(h.at.getTime())}`).join(' '),
        })),
      );
    }

    // ---- the verdict
    expect(accepted.length).toBeGreaterThan(0);
    expect(missing, 'accepted requests missing from Postgres').toEqual([]);
    expect(lost, 'accepted requests not terminal').toEqual([]);
    expect(stuck.map((r) => `${r.id}:${r.status}`), 'requests not terminal').toEqual([]);
    expect(duplicateBackups).toBe(0);
    expect(backupsWithoutSuccess).toBe(0);
    expect(successesWithoutBackup).toBe(0);
    expect(failedDuringReload.map((a) => `${a.n}: ${outcomeKey(a)}`), 'HTTP failures during pm2 reload').toEqual([]);
    expect(poisonNotMalformed, 'poisoned replies of requests that were not malformed').toEqual([]);
    expect(malformedNotInPoison, 'malformed replies missing from the poison queue').toEqual([]);
    // each malformed reply the simulator sent is poisoned once (a receiver killed between the
    // poison send and the delete may poison the same message again, hence distinct source messages)
    expect(poisonSourceMessages.size).toBeGreaterThanOrEqual(sentMalformedIds.size);
    expect(poisonSourceMessages.size).toBeLessThanOrEqual(sentMalformedIds.size + malformedDuplicates);
    expect(malformedWrongReason.map((r) => `${r.id}: ${r.status_reason}`)).toEqual([]);
    // no reply is lost (SPEC §4: the reply inbox), so every request ends where its fate says
    expect(wrong.map((r) => `${r.id}: ${r.status} (${r.status_reason}), expected ${expectedFinal(r).status}`), 'final status differs from the prediction').toEqual([]);
    expect(inboxWaitingAtFlush, 'replies waiting in the inbox when Redis was flushed').toBeGreaterThan(0);
    expect(hostileMissing, 'hostile replies missing from the poison queue and rejected replies').toEqual([]);
    // SPEC §8: one event per status change, every one delivered at least once, every one signed
    expect(eventMismatches.rows.map((r) => r.id), 'requests whose events differ from their history').toEqual([]);
    expect(undelivered, 'status events never delivered to the webhook endpoint').toEqual([]);
    expect(badSignatures.map((hook) => hook.id), 'webhooks whose signature does not verify').toEqual([]);
    for (const app of KILLED_APPS) expect(kills[app], app).toBeGreaterThanOrEqual(1);
    expect(offline).toEqual([]);
  });
});
