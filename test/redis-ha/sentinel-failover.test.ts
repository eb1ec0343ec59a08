import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api-client.js';
import { destroyPipeline, pm2List, pm2LogText, simulatorDuplicateWarnings, startPipelineWithClient, type PipelineEnv } from '../support/pipeline.js';
import { startRedisSentinelSet, type RedisSentinelSet } from '../support/redis-sentinel.js';
import { waitUntilTerminal } from '../support/request-outcomes.js';
import { startSteadyLoad, type Attempt } from '../support/steady-load.js';

/*
 * Redis Sentinel (SPEC §9, issue 14 acceptance 3): the whole pipeline under PM2 reaches Redis only
 * through three Sentinels (quorum 2) watching a primary and its replica, all of them real
 * redis-server processes with passwords (the servers' and the Sentinels' own). Under a smooth load
 * the primary is killed with `kill -9`: the Sentinels promote the replica, and every request that
 * got its 202 ends where the catalogue and the simulator say (NotAllowed / Succeeded / Failed),
 * with one Backup per success, no app restarting, and the pipeline still accepting afterwards.
 * Replication is asynchronous, so the replica may miss the last writes before the kill: jobs,
 * wake-ups, counters. Reconciliation (Received / Allowed requests without a job, inbox replies
 * not applied) heals that; the figures (failover time, requests accepted meanwhile, repairs) are
 * printed for the README.
 *
 * Also a switchover as an operator makes one (SENTINEL FAILOVER, the primary alive): the apps move
 * their connections when the Sentinels announce the new primary, not only when the old one is
 * demoted (libs/queues primary-switch.ts); a write the demoted one refuses (READONLY) is sent again.
 *
 * LINEBACKER_REDIS_HA=short (default; part of `npm test`): a switchover, then the kill. full (`npm
 * run test:redis-ha`): a higher rate, two kills (the second back to the first server, restarted
 * and rejoined as a replica), then a switchover.
 */

const MODE = process.env.LINEBACKER_REDIS_HA === 'full' ? 'full' : 'short';
/** A failover: `kill` (kill -9 of the primary) or `switchover` (SENTINEL FAILOVER, the primary alive). */
type Way = 'kill' | 'switchover';
const PROFILE = {
  short: { ratePerSecond: 15, warmUpMs: 6_000, afterFailoverMs: 6_000, failovers: ['switchover', 'kill'] as Way[], settleMs: 150_000 },
  full: { ratePerSecond: 30, warmUpMs: 15_000, afterFailoverMs: 15_000, failovers: ['kill', 'kill', 'switchover'] as Way[], settleMs: 240_000 },
}[MODE];
const FAILURE_RATIO = 0.2;
const JOB_MIX = ['active-a', 'active-b', 'active-a', 'active-b', 'active-a', 'inactive', 'unknown'];
const PASSWORD = 'Sentinel-data-pw-9f3c1b';
const SENTINEL_PASSWORD = 'Sentinel-own-pw-4d7e2a';

let sentinel: RedisSentinelSet;
let pipeline: PipelineEnv;
let pool: pg.Pool;
let apiKey: string;
let prefix: string;

beforeAll(async () => {
  sentinel = await startRedisSentinelSet({ password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
  ({ pipeline, pool, apiKey } = await startPipelineWithClient('sentinel', {
    LINEBACKER_REDIS_SENTINELS: sentinel.sentinels,
    LINEBACKER_REDIS_SENTINEL_NAME: sentinel.name,
    LINEBACKER_REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
    REDIS_PASSWORD: PASSWORD,
    // with Sentinel, REDIS_URL's host and port are not used
    REDIS_URL: 'redis://not-used.invalid:1',
    LINEBACKER_SIMULATOR_DELAY_MS: '100',
    LINEBACKER_SIMULATOR_FAILURE_RATIO: String(FAILURE_RATIO),
    LINEBACKER_RETRY_START_MS: '200',
    LINEBACKER_RETRY_MAX_MS: '2000',
    LINEBACKER_RECOVERY_DELAY_MS: '1000',
    LINEBACKER_RECONCILE_INTERVAL_MS: '2000',
    LINEBACKER_RECONCILE_GRACE_MS: '2000',
    LINEBACKER_HEALTH_REFRESH_MS: '500',
  }));
  prefix = pipeline.env.LINEBACKER_QUEUE_PREFIX!;
});

afterAll(async () => {
  await pool?.end();
  if (pipeline) await destroyPipeline(pipeline);
  await sentinel?.destroy();
});

interface Failover {
  way: Way;
  oldPrimaryPort: number;
  /** when the primary was killed (after its process exited), or the switchover asked for */
  startedAt: number;
  /** when a Sentinel first named the new primary */
  promotedAt: number;
  newPrimaryPort: number;
  /**
   * when the pipeline first used the new primary: after a kill its first write there (the first
   * `created` event after the kill); after a switchover, whose old primary keeps writing until it is
   * demoted (and those writes reach the replica), its first connection there
   */
  inUseAt: number;
  /** the pipeline's connections to the primary before, and when as many were on the new one */
  connections: number;
  allConnectedAt: number;
}

/** The time (ms) of the newest event of the `created` queue on the server on `port`. */
async function newestCreatedEvent(port: number): Promise<number> {
  const server = sentinel.connectTo(port);
  try {
    const [entry] = (await server.xrevrange(`${prefix}:created:events`, '+', '-', 'COUNT', 1)) as [string, string[]][];
    return entry ? Number(entry[0].split('-')[0]) : 0;
  } finally {
    server.disconnect();
  }
}

/** A failover, then the moments the Sentinels named the replica and the pipeline used it. */
async function failover(way: Way): Promise<Failover> {
  const oldPrimaryPort = await sentinel.primaryPort();
  const newPrimaryPort = sentinel.serverPorts.find((port) => port !== oldPrimaryPort)!;
  const connections = await sentinel.clientsOf(oldPrimaryPort);
  if (way === 'kill') await sentinel.killPrimary();
  else await sentinel.switchover();
  // (after a kill: once the process has exited; the replica may still get what the primary wrote before)
  const startedAt = Date.now();
  let promotedAt = 0;
  let inUseAt = 0;
  let allConnectedAt = 0;
  const deadline = startedAt + 60_000;
  while ((promotedAt === 0 || inUseAt === 0 || allConnectedAt === 0) && Date.now() < deadline) {
    if (promotedAt === 0 && (await sentinel.primaryPort().catch(() => oldPrimaryPort)) === newPrimaryPort) promotedAt = Date.now();
    const clients = await sentinel.clientsOf(newPrimaryPort).catch(() => 0);
    if (inUseAt === 0) {
      if (way === 'switchover' && clients > 0) inUseAt = Date.now();
      const newest = way === 'kill' ? await newestCreatedEvent(newPrimaryPort).catch(() => 0) : 0;
      if (newest > startedAt) inUseAt = newest;
    }
    if (allConnectedAt === 0 && clients >= connections) allConnectedAt = Date.now();
    await sleep(50);
  }
  return { way, oldPrimaryPort, startedAt, promotedAt, newPrimaryPort, inUseAt, connections, allConnectedAt };
}

/** What the leader's reconciliation passes repaired after `since` (its log lines: readded jobs). */
async function repairsSince(since: number): Promise<{ created: number; allowed: number; replies: number; passes: number }> {
  const text = await readFile(join(pipeline.pm2Home, 'logs', 'http-receiver-out.log'), 'utf8');
  const totals = { created: 0, allowed: 0, replies: 0, passes: 0 };
  for (const line of text.split('\n')) {
    if (!line.includes('reconciliation repaired requests')) continue;
    const entry = JSON.parse(line.slice(line.indexOf('{'))) as { time: string; readdedCreated: number; readdedAllowed: number; readdedReplies: number };
    if (Date.parse(entry.time) < since) continue;
    totals.created += entry.readdedCreated;
    totals.allowed += entry.readdedAllowed;
    totals.replies += entry.readdedReplies;
    totals.passes += 1;
  }
  return totals;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe(`Redis Sentinel (${MODE}): the primary killed (and switched over) under load, nothing accepted is lost (SPEC §9)`, () => {
  it('promotes the replica, every accepted request ends where it should, one Backup per success, and intake goes on', async () => {
    const restartsBefore = await pm2List(pipeline);
    const load = startSteadyLoad({ url: pipeline.url, apiKey, ratePerSecond: PROFILE.ratePerSecond, jobMix: JOB_MIX, tag: `sentinel-${Date.now()}` });
    const failovers: Failover[] = [];
    try {
      await sleep(PROFILE.warmUpMs);
      for (const way of PROFILE.failovers) {
        const last = failovers.at(-1);
        // the server killed last time comes back empty; the Sentinels make it a replica of the new
        // primary (after a switchover the old primary is one already, once it is in sync)
        if (last?.way === 'kill') await sentinel.restartAsReplica(last.oldPrimaryPort);
        else if (last) await sentinel.waitForReplica(last.oldPrimaryPort);
        failovers.push(await failover(way));
        await sleep(PROFILE.afterFailoverMs);
      }
    } finally {
      await load.stop();
    }
    const loadEnd = Date.now();
    const { attempts } = load;
    const accepted = attempts.filter((a) => a.id !== undefined);
    const outcomes = await waitUntilTerminal(pool, accepted.map((a) => a.id!), FAILURE_RATIO, PROFILE.settleMs);
    const duplicates = await simulatorDuplicateWarnings(pipeline);
    const restartsAfter = await pm2List(pipeline);
    const restarts = restartsAfter.reduce((sum, app) => sum + app.pm2_env.restart_time, 0) - restartsBefore.reduce((sum, app) => sum + app.pm2_env.restart_time, 0);

    // the figures
    const during = (f: Failover) => (a: Attempt) => a.start >= f.startedAt && a.start <= f.inUseAt;
    const repairs = await repairsSince(failovers[0]!.startedAt);
    const statusOf = new Map(outcomes.rows.map((row) => [row.id, row.status]));
    console.log(
      [
        `\n=== Redis Sentinel failover (${MODE}) ===`,
        `  load                         ${PROFILE.ratePerSecond}/s for ${seconds(loadEnd - attempts[0]!.start)}: ${attempts.length} POSTs, ${accepted.length} accepted, HTTP ${JSON.stringify(countBy(attempts, (a) => a.error ?? String(a.status)))}`,
        ...failovers.flatMap((f, i) => {
          const window = accepted.filter(during(f));
          const after = (at: number) => (at ? seconds(at - f.startedAt) : 'never');
          return [
            `  failover ${i + 1}: ${f.way === 'kill' ? 'kill -9 of' : 'SENTINEL FAILOVER from'} ${f.oldPrimaryPort}, new primary ${f.newPrimaryPort}`,
            `    Sentinel named the new primary after   ${after(f.promotedAt)}`,
            `    pipeline ${f.way === 'kill' ? 'wrote to' : 'connected to'} it after ${f.way === 'kill' ? '            ' : '        '}${after(f.inUseAt)}`,
            `    all ${f.connections} connections on it after        ${after(f.allConnectedAt)}`,
            `    requests accepted in between           ${window.length}: ${JSON.stringify(countBy(window, (a) => statusOf.get(a.id!) ?? 'missing'))}`,
          ];
        }),
        `  reconciliation after the first failover  re-added ${repairs.created} created, ${repairs.allowed} allowed, ${repairs.replies} status-received jobs in ${repairs.passes} passes`,
        `  outbound duplicates (the interface dedupes on backupRequestId)  ${duplicates.length}`,
        `  final statuses               ${JSON.stringify(outcomes.byStatus)}, all terminal ${seconds(outcomes.waitedMs)} after the load stopped`,
        `  PM2 restarts                 ${restarts}`,
      ].join('\n'),
    );

    // the Sentinels promoted the replica, and the pipeline used it: every connection it had moved
    // over, in a switchover within seconds (not when the Sentinels demote the old primary, ~10 s
    // later: libs/queues primary-switch.ts)
    for (const f of failovers) {
      expect(f.promotedAt, 'the Sentinels named a new primary').toBeGreaterThan(0);
      expect(f.inUseAt, 'the pipeline used the new primary').toBeGreaterThan(0);
      expect(f.allConnectedAt, `all ${f.connections} connections of the pipeline on the new primary`).toBeGreaterThan(0);
      if (f.way === 'switchover') expect(f.allConnectedAt - f.startedAt).toBeLessThan(5_000);
    }
    expect(await sentinel.primaryPort()).toBe(failovers.at(-1)!.newPrimaryPort);
    // every POST was answered 202: while Redis was away requests were accepted into Postgres
    expect(attempts.filter((a) => a.status !== 202).map((a) => `#${a.n}: ${a.error ?? a.status}`)).toEqual([]);
    // nothing accepted is lost: every request terminal, where its fate says, one Backup per success
    expect(outcomes.missing).toEqual([]);
    expect(outcomes.open.map((row) => `${row.id}: ${row.status}`)).toEqual([]);
    expect(outcomes.wrong.map((row) => `${row.id}: ${row.status}`)).toEqual([]);
    expect(outcomes.badBackups.map((row) => `${row.id}: ${row.status} with ${row.backups} backups`)).toEqual([]);
    // the pipeline kept accepting after the failover, and those requests finished too
    const afterLast = accepted.filter((a) => a.start > failovers.at(-1)!.inUseAt);
    expect(afterLast.length).toBeGreaterThan(PROFILE.ratePerSecond);
    // no app had to restart to find the new primary
    expect(restarts).toBe(0);
    // /healthz is ok again, with Redis up; no password in it, in /metrics or in any log
    await expect
      .poll(async () => (await call(pipeline.url, 'GET', '/healthz', { token: apiKey })).body?.dependencies?.redis?.status, { timeout: 30_000 })
      .toBe('up');
    const texts = [
      JSON.stringify((await call(pipeline.url, 'GET', '/healthz', { token: apiKey })).body),
      (await call(pipeline.url, 'GET', '/metrics', { token: apiKey })).body as string,
      await pm2LogText(pipeline),
    ].join('\n');
    expect(texts).not.toContain(PASSWORD);
    expect(texts).not.toContain(SENTINEL_PASSWORD);
  });
});

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  return items.reduce<Record<string, number>>((acc, item) => ({ ...acc, [key(item)]: (acc[key(item)] ?? 0) + 1 }), {});
}
