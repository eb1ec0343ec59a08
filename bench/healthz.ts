/*
 * `npm run bench:healthz` (issue 5, acceptance 2): what dashboards polling GET /healthz cost.
 *
 * Starts the whole pipeline with `npm start` under a PM2 daemon of its own (own PM2_HOME, database,
 * queue prefix, HTTP port, Azurite port and data folder), creates an ops:read client with the CLI,
 * then measures four back-to-back windows of BENCH_SECONDS (default 30):
 *   idle → polling at 200 requests/s → idle → polling at 20 requests/s
 * For each: latency of every /healthz answer (p50 / p99 / max), Redis commands/s (INFO
 * commandstats deltas, our own INFO calls left out) and Postgres transactions/s (pg_stat_database xact_commit + xact_rollback deltas
 * of the pipeline's database, read from another database). What polling *causes* is each polling
 * window minus the idle window right before it: it should be ~0 and the same at 20/s and 200/s.
 *
 * Redis: a private redis-server (test/support/private-services.ts) when one can be started, so the
 * counts are the pipeline's alone; otherwise REDIS_URL (or 127.0.0.1:6379), which other users may
 * share: then the idle windows are the only defence against their noise, and the table says so.
 *
 * The load is an open loop of evenly spaced requests (node:http, keep-alive), not autocannon:
 * autocannon's `overallRate` is a per-second budget per connection, so each connection sends its
 * share back to back at the start of every second and then waits. At 200/s over 10 connections
 * that is 10 queues of 20 requests every second, and the p99 measured the queueing of that burst
 * (~10x the time of one answer), not what many dashboards polling at 200/s in total see.
 *
 * Results: a table on stdout and bench/results/healthz-<timestamp>.json. Everything started is
 * stopped and removed at the end, also on Ctrl-C.
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { cpuSeconds } from './support/process-cpu.js';
import { REPO_ROOT, run, saveResults, textTable, withStandalonePipeline } from './support/standalone-pipeline.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const RATES = [200, 20];
const P99_TARGET_MS = 10;

interface Latency {
  requests: number;
  non200: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface Window {
  label: string;
  rate: number;
  seconds: number;
  redisCommandsPerSecond: number;
  pgTransactionsPerSecond: number;
  /** The busiest Redis commands of the window, calls per second. */
  redisTopCommands: Record<string, number>;
  /** CPU used by the http-receiver processes and by the PM2 daemon, % of one core (Linux). */
  receiverCpuPercent: number;
  pm2DaemonCpuPercent: number;
  latency?: Latency;
}

interface Sample {
  at: number;
  redisCalls: Map<string, number>;
  pgTransactions: number;
  receiverCpuSeconds: number;
  pm2CpuSeconds: number;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

async function sample(redis: Redis, admin: pg.Client, database: string, pids: { receivers: number[]; pm2: number[] }): Promise<Sample> {
  const [info, { rows }, receiverCpuSeconds, pm2CpuSeconds] = await Promise.all([
    redis.info('commandstats'),
    admin.query<{ n: string }>('SELECT coalesce(sum(xact_commit + xact_rollback), 0) AS n FROM pg_stat_database WHERE datname = $1', [database]),
    cpuSeconds(pids.receivers),
    cpuSeconds(pids.pm2),
  ]);
  const redisCalls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') redisCalls.set(match[1]!, Number(match[2]));
  }
  return { at: performance.now(), redisCalls, pgTransactions: Number(rows[0]?.n ?? 0), receiverCpuSeconds, pm2CpuSeconds };
}

/**
 * GET /healthz `rate` times a second for `seconds`, evenly spaced and without waiting for answers
 * (an open loop: a slow answer does not delay the next request). Latency is from sending the
 * request to the end of the answer.
 */
async function poll(url: string, apiKey: string, rate: number, seconds: number): Promise<Latency> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const times: number[] = [];
  let non200 = 0;
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = request(`${url}/healthz`, { agent, headers: { authorization: `Bearer ${apiKey}` } }, (res) => {
        res.resume();
        res.on('end', () => {
          times.push(performance.now() - sent);
          if (res.statusCode !== 200) non200 += 1;
          resolve();
        });
      });
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end();
    });
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i += 1) {
    const due = start + (i * 1000) / rate;
    if (due > performance.now()) await sleep(due - performance.now());
    inFlight.push(one());
  }
  await Promise.all(inFlight);
  agent.destroy();
  times.sort((a, b) => a - b);
  return { requests: times.length, non200, errors, p50Ms: round(percentile(times, 0.5)), p99Ms: round(percentile(times, 0.99)), maxMs: round(times.at(-1) ?? NaN) };
}

/** Waits for /healthz to say `ok`: every app online, every dependency up. */
async function untilHealthy(url: string, apiKey: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${apiKey}` } }).catch((err: Error) => err);
    if (!(response instanceof Error) && response.ok) {
      last = await response.text();
      if ((JSON.parse(last) as { status: string }).status === 'ok') return;
    }
    await sleep(500);
  }
  throw new Error(`/healthz did not say ok within ${timeoutMs} ms: ${last}`);
}

async function measure(label: string, rate: number, counters: () => Promise<Sample>, work: () => Promise<Latency | undefined>): Promise<Window> {
  const before = await counters();
  const latency = await work();
  const after = await counters();
  const seconds = (after.at - before.at) / 1000;
  const perSecond = [...after.redisCalls].map(([command, calls]) => [command, (calls - (before.redisCalls.get(command) ?? 0)) / seconds] as const);
  const window: Window = {
    label,
    rate,
    seconds: round(seconds, 1),
    redisCommandsPerSecond: round(perSecond.reduce((sum, [, n]) => sum + n, 0)),
    pgTransactionsPerSecond: round((after.pgTransactions - before.pgTransactions) / seconds),
    receiverCpuPercent: round(((after.receiverCpuSeconds - before.receiverCpuSeconds) / seconds) * 100, 1),
    pm2DaemonCpuPercent: round(((after.pm2CpuSeconds - before.pm2CpuSeconds) / seconds) * 100, 1),
    redisTopCommands: Object.fromEntries(
      perSecond
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([command, n]) => [command, round(n)]),
    ),
    ...(latency ? { latency } : {}),
  };
  console.log(`  ${label}: done`);
  return window;
}

function table(windows: Window[]): string {
  const header = ['window', 'requests', 'non-200', 'p50 ms', 'p99 ms', 'max ms', 'Redis cmd/s', 'caused', 'PG xact/s', 'caused', 'receiver CPU %', 'PM2 CPU %'];
  const rows = windows.map((w, i) => {
    const idle = w.latency ? windows[i - 1] : undefined;
    const caused = (value: number, base: number | undefined) => (base === undefined ? '' : `${value - base >= 0 ? '+' : ''}${round(value - base)}`);
    return [
      w.label,
      String(w.latency?.requests ?? ''),
      String(w.latency ? w.latency.non200 + w.latency.errors : ''),
      String(w.latency?.p50Ms ?? ''),
      String(w.latency?.p99Ms ?? ''),
      String(w.latency?.maxMs ?? ''),
      String(w.redisCommandsPerSecond),
      caused(w.redisCommandsPerSecond, idle?.redisCommandsPerSecond),
      String(w.pgTransactionsPerSecond),
      caused(w.pgTransactionsPerSecond, idle?.pgTransactionsPerSecond),
      String(w.receiverCpuPercent),
      String(w.pm2DaemonCpuPercent),
    ];
  });
  return textTable(header, rows);
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  await withStandalonePipeline('healthz', {}, async ({ url, env, database, pm2Home, redisUrl, redisKind, admin, createClient, onCleanUp }) => {
    // ---- a dashboard's client
    const apiKey = await createClient('bench-healthz', 'ops:read');
    await untilHealthy(url, apiKey, 90_000);
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    onCleanUp(async () => redis.disconnect());
    const { stdout: list } = await run(join(REPO_ROOT, 'node_modules/.bin/pm2'), ['jlist'], { cwd: REPO_ROOT, env });
    const processes = JSON.parse(list.split('\n').findLast((line) => line.startsWith('[')) ?? '[]') as { name: string; pid: number }[];
    const pids = {
      receivers: processes.filter((p) => p.name === 'http-receiver').map((p) => p.pid),
      pm2: [Number(await readFile(join(pm2Home, 'pm2.pid'), 'utf8'))],
    };
    const counters = () => sample(redis, admin, database, pids);
    console.log(`Warming up (5 s at 200/s), then ${RATES.length * 2} windows of ${SECONDS} s ...`);
    await poll(url, apiKey, 200, 5);

    // ---- the windows
    const windows: Window[] = [];
    for (const rate of RATES) {
      windows.push(await measure('idle', 0, counters, () => sleep(SECONDS * 1000).then(() => undefined)));
      windows.push(await measure(`poll ${rate}/s`, rate, counters, () => poll(url, apiKey, rate, SECONDS)));
    }

    // ---- report
    const polling = windows.filter((w) => w.latency);
    const caused = (w: Window, pick: (w: Window) => number) => round(pick(w) - pick(windows[windows.indexOf(w) - 1]!));
    const p99 = Math.max(...polling.map((w) => w.latency!.p99Ms));
    const load = loadavg().map((n) => n.toFixed(2)).join(' ');
    console.log(`\n/healthz polled at evenly spaced times; Redis ${redisKind}; ${SECONDS} s per window; load average now ${load}\n`);
    console.log(table(windows));
    console.log(`\np99 ${p99} ms (target ≤ ${P99_TARGET_MS} ms): ${p99 <= P99_TARGET_MS ? 'met' : 'MISSED'}`);
    for (const w of polling) {
      console.log(`${w.label}: polling caused ${caused(w, (x) => x.redisCommandsPerSecond)} Redis commands/s and ${caused(w, (x) => x.pgTransactionsPerSecond)} Postgres transactions/s`);
    }
    const file = await saveResults('healthz', startedAt, {
      startedAt,
      settings: { secondsPerWindow: SECONDS, rates: RATES, redis: redisKind, node: process.version, p99TargetMs: P99_TARGET_MS },
      loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
      windows,
      causedByPolling: polling.map((w) => ({
        rate: w.rate,
        redisCommandsPerSecond: caused(w, (x) => x.redisCommandsPerSecond),
        pgTransactionsPerSecond: caused(w, (x) => x.pgTransactionsPerSecond),
      })),
      p99Ms: p99,
      p99TargetMet: p99 <= P99_TARGET_MS,
    });
    console.log(`\nResults: ${file}`);
  });
}

await main();
