import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../test/support/free-port.js';
import { startPrivateRedis } from '../../test/support/private-services.js';
import { redact, withDatabase } from '../../test/support/services.js';

/** bench/support/standalone-pipeline.ts runs as bench/dist/bench/support/standalone-pipeline.js (bench/tsconfig.json). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const run = promisify(execFile);

/**
 * What a benchmark run outside vitest (`npm run bench:healthz`, `npm run bench:memory`) starts: the
 * whole pipeline with `npm start` under a PM2 daemon of its own (own PM2_HOME, database, queue
 * prefix, HTTP port, Azurite port and data folder), on a private redis-server when one can be
 * started, so that Redis' figures are the pipeline's alone.
 */
export interface StandalonePipeline {
  url: string;
  /** The environment the pipeline runs with. */
  env: NodeJS.ProcessEnv;
  database: string;
  pm2Home: string;
  redisUrl: string;
  /** private: a redis-server of this run; shared: REDIS_URL (or 127.0.0.1:6379), which others may use. */
  redisKind: 'private' | 'shared';
  /** A client on the server's `postgres` database (for pg_stat_database and the like). */
  admin: pg.Client;
  npm: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;
  /** A client made with the CLI, as an operator would; returns its API key. */
  createClient: (name: string, scopes: string) => Promise<string>;
  /** Runs `release` at clean-up, before everything registered earlier. */
  onCleanUp: (release: () => Promise<unknown>) => void;
}

/**
 * Runs `use` with a started pipeline (`extraEnv` on top of the shell's environment), then stops it
 * and removes everything it made, also on Ctrl-C.
 */
export async function withStandalonePipeline(name: string, extraEnv: Record<string, string>, use: (pipeline: StandalonePipeline) => Promise<void>): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const release of cleanups.reverse()) await release().catch((err: unknown) => console.error('cleanup:', err));
    })());
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

  try {
    let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    let redisKind: StandalonePipeline['redisKind'] = 'shared';
    try {
      const privateRedis = await startPrivateRedis();
      cleanups.push(() => privateRedis.destroy());
      [redisUrl, redisKind] = [privateRedis.url, 'private'];
    } catch (err) {
      console.warn(`No private redis-server (${(err as Error).message}): measuring on ${redact(redisUrl)}, which others may share.`);
    }
    const postgresServer = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const database = `lb_bench_${name}_${randomBytes(4).toString('hex')}`;
    const [pm2Home, dataDir] = await Promise.all([mkdtemp(join(tmpdir(), 'lb-bench-pm2-')), mkdtemp(join(tmpdir(), 'lb-bench-data-'))]);
    const [port, azuritePort] = [await freePort(), await freePort()];
    const env = {
      ...process.env,
      PM2_HOME: pm2Home,
      DATABASE_URL: withDatabase(postgresServer, database),
      REDIS_URL: redisUrl,
      LINEBACKER_QUEUE_PREFIX: `lbbench-${randomBytes(4).toString('hex')}`,
      LINEBACKER_HTTP_PORT: String(port),
      LINEBACKER_AZURITE_PORT: String(azuritePort),
      LINEBACKER_DATA_DIR: dataDir,
      ...extraEnv,
    };
    const npm = (...args: string[]) => run('npm', args, { cwd: REPO_ROOT, env, timeout: 180_000 });

    const admin = new pg.Client({ connectionString: withDatabase(postgresServer, 'postgres') });
    await admin.connect();
    cleanups.push(() => admin.end());
    cleanups.push(() => admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(database)} WITH (FORCE)`));
    cleanups.push(() => rm(pm2Home, { recursive: true, force: true }));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    cleanups.push(() => run(join(REPO_ROOT, 'node_modules/.bin/pm2'), ['kill'], { cwd: REPO_ROOT, env }));
    cleanups.push(() => npm('stop'));

    console.log(`Starting the pipeline (PM2_HOME ${pm2Home}, database ${database}, ${redisKind} Redis ${redact(redisUrl)}) ...`);
    await npm('start');
    await use({
      url: `http://127.0.0.1:${port}`,
      env,
      database,
      pm2Home,
      redisUrl,
      redisKind,
      admin,
      npm,
      createClient: async (clientName, scopes) => {
        const { stdout } = await npm('run', '--silent', 'cli', '--', 'clients', 'create', '--name', clientName, '--scopes', scopes);
        return (JSON.parse(stdout) as { apiKey: string }).apiKey;
      },
      onCleanUp: (release) => void cleanups.push(release),
    });
  } finally {
    console.log('Stopping the pipeline and removing what the benchmark made ...');
    await cleanUp();
  }
}

/** Writes `results` to bench/results/<name>-<startedAt>.json and returns the file's path. */
export async function saveResults(name: string, startedAt: string, results: unknown): Promise<string> {
  const dir = join(REPO_ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}-${startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** Evenly spaced fixed-width table text (first column left-aligned). */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
