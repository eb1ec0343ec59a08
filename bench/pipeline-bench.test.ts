import { mkdir, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../test/support/api-client.js';
import { freePort } from '../test/support/free-port.js';
import { REPO_ROOT, destroyPipeline, isolatedPipelineEnv, npm, pm2List, type PipelineEnv } from '../test/support/pipeline.js';
import { testQueuePrefix } from '../test/support/test-database.js';
import { startBaseline, type Baseline } from './support/baseline.js';
import { baselineCompletion, linebackerCompletion, type Completion } from './support/figures.js';
import { postLoad, type LoadResult } from './support/load.js';
import { cpuSpent, findPids, readCpu } from './support/process-cpu.js';

/*
 * `npm run bench` (issue 6): linebacker under PM2 against a same-run baseline on the same services.
 * LINEBACKER_BENCH=full for the real run; the default short form runs in `npm test` so the bench
 * cannot rot, and asserts nothing about speed. Options (bench/run.mjs sets them from flags):
 * LINEBACKER_BENCH_DURATION (s per phase), LINEBACKER_BENCH_CONNECTIONS (e.g. 10,50,100),
 * LINEBACKER_BENCH_RATES (offered rates for the end-to-end steps, e.g. 200,400,800),
 * LINEBACKER_BENCH_SCALE (e.g. check-allowed=2,receive-status=2).
 *
 * Both systems are warmed up first (JIT: a cold Azurite spends twice the CPU per message). The
 * closed-loop end-to-end phase is also profiled: the CPU each process (PM2 app or baseline process,
 * Postgres backends, Redis) used from its start until everything was drained, per completed request.
 */
const full = process.env.LINEBACKER_BENCH === 'full';
const durationS = Number(process.env.LINEBACKER_BENCH_DURATION ?? (full ? 20 : 3));
const connectionSteps = (process.env.LINEBACKER_BENCH_CONNECTIONS ?? (full ? '10,50,100' : '50')).split(',').map(Number);
const rateSteps = (process.env.LINEBACKER_BENCH_RATES ?? (full ? '100,150,200,300,400,600,800' : '200')).split(',').map(Number);
const scale = (process.env.LINEBACKER_BENCH_SCALE ?? '')
  .split(',')
  .filter(Boolean)
  .map((entry) => entry.split('=') as [string, string]);

const run = promisify(execFile);
let pipeline: PipelineEnv;
let pool: pg.Pool;
let baseline: Baseline;
let token: string;
const samples: unknown[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until neither linebacker nor the baseline chain has work in flight. */
async function drained(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ open: number; chain: number }>(
      `SELECT (SELECT count(*)::int FROM backup_requests WHERE status IN ('Received', 'Allowed', 'Sent')) AS open,
              (SELECT count(*)::int FROM bl_requests WHERE status < 4) AS chain`,
    );
    if ((rows[0]!.open === 0 && rows[0]!.chain === 0) || Date.now() > deadline) return;
    await sleep(250);
  }
}

/** /healthz once a second while `work` runs: PM2 CPU and RSS per app, queue depths. */
async function sampled<T>(label: string, work: () => Promise<T>): Promise<T> {
  let running = true;
  const sampler = (async () => {
    while (running) {
      const { body } = await call(pipeline.url, 'GET', '/healthz', { token });
      samples.push({
        phase: label,
        at: new Date().toISOString(),
        apps: (body.pm2?.apps ?? []).map((a: { name: string; cpuPercent: number; memoryBytes: number; online: number }) => ({
          name: a.name,
          online: a.online,
          cpuPercent: a.cpuPercent,
          rssMb: Math.round(a.memoryBytes / 2 ** 20),
        })),
        queues: Object.fromEntries(
          Object.entries(body.queues ?? {}).map(([name, q]) => [name, (q as { waiting: number; active: number }).waiting + (q as { active: number }).active]),
        ),
      });
      await sleep(1000);
    }
  })();
  try {
    return await work();
  } finally {
    running = false;
    await sampler;
  }
}

/** Load for durationS; completions are counted over the last two thirds (steady state). */
async function endToEnd(
  url: string,
  load: { connections: number; overallRate?: number },
  completion: (db: pg.Pool, from: Date, to: Date) => Promise<Completion>,
  auth?: string,
): Promise<{ load: LoadResult; completion: Completion }> {
  const started = Date.now();
  const result = await postLoad({ url, token: auth, durationS, backupJobId: 'bench-job', ...load });
  const from = new Date(started + (durationS * 1000) / 3);
  const to = new Date(started + durationS * 1000);
  const figures = await completion(pool, from, to);
  await drained();
  return { load: result, completion: figures };
}

const ratio = (ours: number, theirs: number) => (theirs > 0 ? Math.round((ours / theirs) * 100) / 100 : null);

type System = 'linebacker' | 'baseline';

/** The processes a phase's CPU is charged to: each PM2 app (or baseline process), Postgres, Redis. */
async function processGroups(system: System): Promise<Record<string, number[]>> {
  const groups: Record<string, number[]> = {};
  if (system === 'linebacker') {
    for (const app of await pm2List(pipeline)) (groups[app.name] ??= []).push(app.pid);
  } else {
    for (const [role, pid] of Object.entries(baseline.processes)) groups[role] = [pid];
  }
  groups.postgres = await findPids(/^postgres: /);
  groups['redis-server'] = await findPids(/^redis-server /);
  return groups;
}

/** Requests that reached the end of the pipeline (or the chain) so far. */
async function finishedCount(system: System): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    system === 'linebacker'
      ? `SELECT count(*)::int AS n FROM backup_requests WHERE status IN ('Succeeded', 'Failed', 'NotAllowed')`
      : `SELECT count(*)::int AS n FROM bl_requests WHERE status = 4`,
  );
  return rows[0]!.n;
}

/**
 * Runs `work` (a phase that ends drained) and charges the CPU each process of `system` used
 * meanwhile to the requests that finished: milliseconds of CPU per request, by process.
 */
async function profiled<T>(system: System, work: () => Promise<T>): Promise<T & { cpuMsPerRequest: Record<string, number> }> {
  const before = await readCpu(Object.values(await processGroups(system)).flat());
  const finishedBefore = await finishedCount(system);
  const result = await work();
  const groups = await processGroups(system);
  const after = await readCpu(Object.values(groups).flat());
  const finished = Math.max(1, (await finishedCount(system)) - finishedBefore);
  const perRequest = Object.entries(groups)
    .map(([name, pids]) => [name, (cpuSpent(before, after, pids) * 1000) / finished] as const)
    .sort((a, b) => b[1] - a[1]);
  const total = perRequest.reduce((sum, [, ms]) => sum + ms, 0);
  const cpuMsPerRequest = Object.fromEntries([...perRequest, ['total', total]].map(([name, ms]) => [name, Math.round(Number(ms) * 100) / 100]));
  return { ...result, cpuMsPerRequest };
}

/** `total 11.7 ms (at most 171/s on 2 cores): azurite 3.2, postgres 2.0, …` */
function cpuLine(cpuMsPerRequest: Record<string, number>): string {
  const { total = 0, ...byProcess } = cpuMsPerRequest;
  const cores = availableParallelism();
  const parts = Object.entries(byProcess).map(([name, ms]) => `${name} ${ms}`);
  return `total ${total} ms (at most ${Math.round((cores * 1000) / total)}/s on ${cores} cores): ${parts.join(', ')}`;
}

beforeAll(async () => {
  pipeline = await isolatedPipelineEnv({
    LINEBACKER_SIMULATOR_DELAY_MS: '0',
    LINEBACKER_SIMULATOR_FAILURE_RATIO: '0',
    LINEBACKER_SIMULATOR_MALFORMED_RATIO: '0',
    LINEBACKER_LOG_LEVEL: 'warn',
    LINEBACKER_RATE_LIMIT_PER_MINUTE: '100000000',
  });
  await npm(pipeline, 'start');
  for (const [app, instances] of scale) {
    await run(join(REPO_ROOT, 'node_modules/.bin/pm2'), ['scale', app, instances], { env: pipeline.env });
  }
  pool = new pg.Pool({ connectionString: pipeline.databaseUrl, max: 2 });
  const created = await npm(pipeline, 'run', '--silent', 'cli', '--', 'clients', 'create', '--name', 'bench', '--scopes', 'requests:write,jobs:admin,ops:read');
  token = (JSON.parse(created.stdout) as { apiKey: string }).apiKey;
  await call(pipeline.url, 'PUT', '/api/v1/backup-jobs/bench-job', {
    token,
    json: { storagePathName: 'vault/bench', backupProviderCode: 'Local', daysToKeep: 1 },
  });
  baseline = await startBaseline(pipeline.databaseUrl, pipeline.env.REDIS_URL!, `${testQueuePrefix()}-baseline`, await freePort());
  // warm-up, not reported: JIT-compiled code paths in every process of both systems
  const warmUpS = full ? 5 : 1;
  await postLoad({ url: pipeline.url, token, connections: 10, durationS: warmUpS, backupJobId: 'bench-job' });
  await postLoad({ url: baseline.acceptUrl, connections: 10, durationS: warmUpS, backupJobId: 'bench-job' });
  await drained();
}, 240_000);

afterAll(async () => {
  await baseline?.stop();
  await pool?.end();
  if (pipeline) await destroyPipeline(pipeline);
});

describe(`pipeline benchmark (${full ? 'full' : 'short'})`, () => {
  it('measures linebacker and the same-run baseline, and reports the ratios', async () => {
    const accept = [];
    for (const connections of connectionSteps) {
      const ours = await sampled(`accept ${connections}`, () => postLoad({ url: pipeline.url, token, connections, durationS, backupJobId: 'bench-job' }));
      await drained();
      const theirs = await postLoad({ url: baseline.acceptUrl, connections, durationS, backupJobId: 'bench-job' });
      await drained();
      accept.push({
        connections,
        linebacker: ours,
        baseline: theirs,
        ratio: { acceptedPerSecond: ratio(ours.requestsPerSecond, theirs.requestsPerSecond), p99: ratio(ours.p99Ms, theirs.p99Ms) },
      });
    }

    const closedLoop = {
      linebacker: await profiled('linebacker', () =>
        sampled('e2e closed loop', () => endToEnd(pipeline.url, { connections: 50 }, linebackerCompletion, token)),
      ),
      baseline: await profiled('baseline', () => endToEnd(baseline.acceptUrl, { connections: 50 }, baselineCompletion)),
    };

    const fixedRate = [];
    for (const rate of rateSteps) {
      const ours = await sampled(`e2e ${rate}/s`, () => endToEnd(pipeline.url, { connections: 50, overallRate: rate }, linebackerCompletion, token));
      const theirs = await endToEnd(baseline.acceptUrl, { connections: 50, overallRate: rate }, baselineCompletion);
      fixedRate.push({ offered: rate, linebacker: ours, baseline: theirs });
      // stop stepping once linebacker's completions no longer keep up with the offered rate
      if (ours.completion.completedPerSecond < rate * 0.9) break;
    }

    const maxRss = new Map<string, number>();
    for (const sample of samples as { apps: { name: string; rssMb: number }[] }[]) {
      for (const app of sample.apps) maxRss.set(app.name, Math.max(maxRss.get(app.name) ?? 0, app.rssMb));
    }
    const results = {
      at: new Date().toISOString(),
      form: full ? 'full' : 'short',
      durationS,
      scale: Object.fromEntries(scale),
      accept,
      endToEnd: {
        closedLoop: {
          ...closedLoop,
          ratio: { completedPerSecond: ratio(closedLoop.linebacker.completion.completedPerSecond, closedLoop.baseline.completion.completedPerSecond) },
        },
        fixedRate,
      },
      maxRssMbByApp: Object.fromEntries(maxRss),
      samples,
    };

    const lines = [
      `# linebacker bench (${results.form}, ${durationS} s per phase) — ${results.at}`,
      '',
      '| accept, closed loop | linebacker req/s | p50 ms | p99 ms | baseline req/s | p99 ms | ratio req/s | ratio p99 |',
      '|---|---|---|---|---|---|---|---|',
      ...accept.map(
        (a) =>
          `| ${a.connections} connections | ${a.linebacker.requestsPerSecond} | ${a.linebacker.p50Ms} | ${a.linebacker.p99Ms} | ${a.baseline.requestsPerSecond} | ${a.baseline.p99Ms} | ${a.ratio.acceptedPerSecond} | ${a.ratio.p99} |`,
      ),
      '',
      '| end to end | offered | linebacker completed/s | e2e p50 / p95 / p99 ms | baseline completed/s | baseline p50 / p99 ms | ratio |',
      '|---|---|---|---|---|---|---|',
      `| closed loop, 50 connections | – | ${closedLoop.linebacker.completion.completedPerSecond} | ${Object.values(closedLoop.linebacker.completion.endToEndMs).join(' / ')} | ${closedLoop.baseline.completion.completedPerSecond} | ${closedLoop.baseline.completion.endToEndMs.p50} / ${closedLoop.baseline.completion.endToEndMs.p99} | ${results.endToEnd.closedLoop.ratio.completedPerSecond} |`,
      ...fixedRate.map(
        (f) =>
          `| fixed rate | ${f.offered}/s | ${f.linebacker.completion.completedPerSecond} | ${Object.values(f.linebacker.completion.endToEndMs).join(' / ')} | ${f.baseline.completion.completedPerSecond} | ${f.baseline.completion.endToEndMs.p50} / ${f.baseline.completion.endToEndMs.p99} | ${ratio(f.linebacker.completion.completedPerSecond, f.baseline.completion.completedPerSecond)} |`,
      ),
      '',
      `Per stage (closed loop, p50 / p99 ms): ${Object.entries(closedLoop.linebacker.completion.stagesMs ?? {})
        .map(([stage, v]) => `${stage} ${v.p50} / ${v.p99}`)
        .join('; ')}`,
      '',
      'CPU per finished request, closed loop until drained (ms of CPU; "at most" = cores × 1000 / total):',
      `- linebacker: ${cpuLine(closedLoop.linebacker.cpuMsPerRequest)}`,
      `- baseline: ${cpuLine(closedLoop.baseline.cpuMsPerRequest)}`,
      '',
      `Max RSS per app (MB): ${[...maxRss].map(([app, mb]) => `${app} ${mb}`).join(', ')}`,
    ];
    const summary = lines.join('\n');
    console.log(`\n${summary}\n`);
    const dir = join(REPO_ROOT, 'bench/results');
    await mkdir(dir, { recursive: true });
    const stamp = results.at.replace(/[:.]/g, '-');
    await writeFile(join(dir, `${stamp}.json`), JSON.stringify(results, null, 2));
    await writeFile(join(dir, `${stamp}.md`), `${summary}\n`);

    // the short form only proves the bench runs end to end; it asserts nothing about speed
    expect(accept.every((a) => a.linebacker.requests > 0 && a.baseline.requests > 0)).toBe(true);
    expect(closedLoop.linebacker.completion.completed).toBeGreaterThan(0);
  });
});
