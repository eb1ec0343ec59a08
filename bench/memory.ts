/*
 * `npm run bench:memory [-- --rate 50 --minutes 30 --sample 30]` (issue 12): Redis memory under
 * sustained load. Starts the whole pipeline with `npm start` (bench/support/standalone-pipeline.ts:
 * PM2 daemon, database, ports of its own, a private redis-server so that `used_memory` is the
 * pipeline's alone), offers an evenly spaced load of `--rate` requests/s for `--minutes`, and every
 * `--sample` seconds prints Redis' `used_memory` (and RSS, keys, finished jobs kept per queue, events
 * stream lengths), so the plateau that the job retention sets is visible as it forms. Then it waits
 * for the pipeline to drain and prints the figures of the last third of the run.
 *
 * Settings come from the environment as for `npm start`, so the retention under test is whatever
 * LINEBACKER_COMPLETED_JOB_RETENTION_* / LINEBACKER_FAILED_JOB_RETENTION_* say (defaults: README).
 * Results: the table on stdout and bench/results/memory-<timestamp>.json.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '@linebacker/config';
import { QUEUES } from '@linebacker/queues';
import { call } from '../test/support/api-client.js';
import { offerLoad } from './support/offered-load.js';
import { saveResults, textTable, withStandalonePipeline } from './support/standalone-pipeline.js';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '50' }, minutes: { type: 'string', default: '30' }, sample: { type: 'string', default: '30' } },
});
const RATE = Number(values.rate);
const MINUTES = Number(values.minutes);
const SAMPLE_S = Number(values.sample);
const JOB = 'bench-memory';
const MB = 1024 * 1024;

interface MemorySample {
  /** Seconds since the load began. */
  t: number;
  usedMemoryMb: number;
  usedMemoryRssMb: number;
  keys: number;
  /** Requests accepted so far, and finished (Succeeded, Failed, NotAllowed). */
  accepted: number;
  finished: number;
  /** Per BullMQ queue: completed and failed jobs kept, events stream length. */
  queues: Record<string, { completed: number; failed: number; events: number }>;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function sample(redis: Redis, queues: Queue[], db: pg.Pool, startedAt: number): Promise<MemorySample> {
  const info = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  const perQueue = await Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts('completed', 'failed');
      const events = await redis.xlen(`${queue.opts.prefix}:${queue.name}:events`);
      return [queue.name, { completed: counts.completed ?? 0, failed: counts.failed ?? 0, events }] as const;
    }),
  );
  const { rows } = await db.query<{ accepted: number; finished: number }>(
    `SELECT count(*)::int AS accepted, count(*) FILTER (WHERE NOT in_pipeline)::int AS finished FROM backup_requests`,
  );
  return {
    t: Math.round((Date.now() - startedAt) / 1000),
    usedMemoryMb: round(field('used_memory') / MB, 2),
    usedMemoryRssMb: round(field('used_memory_rss') / MB, 2),
    keys: await redis.dbsize(),
    accepted: rows[0]!.accepted,
    finished: rows[0]!.finished,
    queues: Object.fromEntries(perQueue),
  };
}

const row = (s: MemorySample) => [
  String(s.t),
  String(s.usedMemoryMb),
  String(s.usedMemoryRssMb),
  String(s.keys),
  String(s.accepted),
  String(s.finished),
  ...Object.values(s.queues).map((q) => `${q.completed}/${q.failed}/${q.events}`),
];
const HEADER = ['t s', 'used_memory MB', 'RSS MB', 'keys', 'accepted', 'finished', ...Object.values(QUEUES).map((q) => `${q} kept/failed/events`)];

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const settings = loadConfig(process.env);
  console.log(
    `Redis memory at ${RATE} requests/s for ${MINUTES} min, a sample every ${SAMPLE_S} s; job retention ${JSON.stringify(settings.jobRetention)}`,
  );
  await withStandalonePipeline('memory', {}, async ({ url, env, redisUrl, redisKind, createClient, onCleanUp }) => {
    const apiKey = await createClient('bench-memory', 'requests:write,jobs:admin');
    const put = await call(url, 'PUT', `/api/v1/backup-jobs/${JOB}`, {
      token: apiKey,
      json: { storagePathName: 'vault/bench', backupProviderCode: 'Local', daysToKeep: 1 },
    });
    if (put.status >= 300) throw new Error(`PUT backup job: ${put.status}`);
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    onCleanUp(async () => redis.disconnect());
    const queues = Object.values(QUEUES).map((name) => new Queue(name, { connection: redis, prefix: env.LINEBACKER_QUEUE_PREFIX! }));
    onCleanUp(() => Promise.all(queues.map((queue) => queue.close())));
    const db = new pg.Pool({ connectionString: env.DATABASE_URL, max: 1 });
    onCleanUp(() => db.end());

    const began = Date.now();
    const samples: MemorySample[] = [await sample(redis, queues, db, began)];
    console.log(`\n${textTable(HEADER, samples.map(row))}`);
    const load = offerLoad({ url, token: apiKey, backupJobId: JOB, ratePerSecond: RATE, durationS: MINUTES * 60 });
    let loading = true;
    const offered = load.finally(() => (loading = false));
    while (loading) {
      await Promise.race([sleep(SAMPLE_S * 1000), offered]);
      const next = await sample(redis, queues, db, began);
      samples.push(next);
      console.log(row(next).join('  '));
    }
    const result = await offered;
    // drain: every accepted request finished (at most two minutes)
    for (let waited = 0; waited < 120 && samples.at(-1)!.finished < result.accepted; waited += 5) {
      await sleep(5000);
      samples.push(await sample(redis, queues, db, began));
    }
    const drained = samples.at(-1)!;
    console.log(row(drained).join('  '));

    const lastThird = samples.filter((s) => s.t >= (MINUTES * 60 * 2) / 3 && s.t <= MINUTES * 60);
    const plateau = lastThird.length > 0 ? lastThird : samples.slice(-1);
    const figures = {
      maxUsedMemoryMb: Math.max(...samples.map((s) => s.usedMemoryMb)),
      lastThirdUsedMemoryMb: { min: Math.min(...plateau.map((s) => s.usedMemoryMb)), max: Math.max(...plateau.map((s) => s.usedMemoryMb)) },
      acceptedPerSecond: round(result.accepted / (MINUTES * 60)),
      refused: result.refused,
      errors: result.errors,
      drained: drained.finished >= result.accepted,
    };
    console.log(
      `\n${redisKind} Redis; ${result.accepted} accepted (${figures.acceptedPerSecond}/s), ${drained.finished} finished; ` +
        `used_memory max ${figures.maxUsedMemoryMb} MB, over the last third of the load ${figures.lastThirdUsedMemoryMb.min}–${figures.lastThirdUsedMemoryMb.max} MB; ` +
        `load average now ${loadavg().map((n) => n.toFixed(2)).join(' ')}`,
    );
    const file = await saveResults('memory', startedAt, {
      startedAt,
      settings: { rate: RATE, minutes: MINUTES, sampleS: SAMPLE_S, redis: redisKind, jobRetention: settings.jobRetention, node: process.version },
      figures,
      load: result,
      samples,
    });
    console.log(`Results: ${file}`);
  });
}

await main();
