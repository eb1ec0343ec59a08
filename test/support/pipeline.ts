import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { call } from './api-client.js';
import { freePort } from './free-port.js';
import { withDatabase } from './services.js';
import { testQueuePrefix } from './test-database.js';

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PM2_BIN = join(REPO_ROOT, 'node_modules/.bin/pm2');

export interface PipelineEnv {
  env: NodeJS.ProcessEnv;
  url: string;
  databaseUrl: string;
  pm2Home: string;
  /** Embedded Azurite of this pipeline. */
  azuritePort: number;
  dataDir: string;
}

/**
 * Everything a pipeline started by these tests needs of its own: PM2_HOME, HTTP port, a database
 * that does not exist yet (`npm start` must create it), a BullMQ prefix, and an embedded Azurite
 * on a free port with its data in a temporary folder.
 */
export async function isolatedPipelineEnv(extra: Record<string, string> = {}): Promise<PipelineEnv> {
  const pm2Home = await mkdtemp(join(tmpdir(), 'lb-pm2-'));
  // tmpfs when there is one, as the default data dir (libs/config)
  const dataDir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'lb-data-'));
  const port = await freePort();
  const azuritePort = await freePort();
  // `extra.DATABASE_URL` points the pipeline at another server (e.g. a private one the test restarts)
  const databaseUrl =
    extra.DATABASE_URL ??
    withDatabase(inject('lbPostgresServerUrl'), `${inject('lbTemplateDatabase')}_pipe_${randomBytes(3).toString('hex')}`);
  const env = {
    ...process.env,
    PM2_HOME: pm2Home,
    DATABASE_URL: databaseUrl,
    REDIS_URL: inject('lbRedisUrl'),
    LINEBACKER_QUEUE_PREFIX: testQueuePrefix(),
    LINEBACKER_HTTP_PORT: String(port),
    LINEBACKER_AZURITE_PORT: String(azuritePort),
    LINEBACKER_DATA_DIR: dataDir,
    ...extra,
  };
  return { env, url: `http://127.0.0.1:${port}`, databaseUrl, pm2Home, azuritePort, dataDir };
}

/** Runs an npm script in the repository as a user would, with this pipeline's environment. */
export async function npm(pipeline: PipelineEnv, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('npm', args, { cwd: REPO_ROOT, env: pipeline.env, timeout: 170_000 });
}

/**
 * A pipeline of its own (isolatedPipelineEnv with `extra`) started with `npm start`, a pool on its
 * database, and a client made with the CLI (requests:write, requests:read, jobs:admin, ops:read)
 * that has put the test backup jobs. Destroyed again if any of it fails.
 */
export async function startPipelineWithClient(
  clientName: string,
  extra: Record<string, string>,
): Promise<{ pipeline: PipelineEnv; pool: pg.Pool; apiKey: string }> {
  const pipeline = await isolatedPipelineEnv(extra);
  try {
    await npm(pipeline, 'start');
    const apiKey = await createClientWithCli(pipeline, clientName, 'requests:write,requests:read,jobs:admin,ops:read');
    await putTestJobs(pipeline, apiKey);
    return { pipeline, pool: new pg.Pool({ connectionString: pipeline.databaseUrl, max: 2 }), apiKey };
  } catch (err) {
    await destroyPipeline(pipeline);
    throw err;
  }
}

/** A pm2 command against this pipeline's daemon, as an operator would type it. */
export function pm2(pipeline: PipelineEnv, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(PM2_BIN, args, { cwd: REPO_ROOT, env: pipeline.env, timeout: 120_000 });
}

/** `pm2 jlist` of this pipeline's daemon. */
export async function pm2List(pipeline: PipelineEnv): Promise<{ name: string; pid: number; pm2_env: { status: string; exec_mode: string; node_args: string[]; restart_time: number } }[]> {
  const { stdout } = await run(PM2_BIN, ['jlist'], { cwd: REPO_ROOT, env: pipeline.env });
  // pm2 may print its banner first; the list is the one JSON line
  const json = stdout.split('\n').findLast((line) => line.startsWith('['));
  if (!json) throw new Error(`pm2 jlist printed no list: ${stdout}`);
  return JSON.parse(json) as { name: string; pid: number; pm2_env: { status: string; exec_mode: string; node_args: string[]; restart_time: number } }[];
}

/**
 * What a host dying looks like: `kill -9` of every process of this pipeline's PM2 at once — its
 * apps (the pids of `pm2 jlist`) and the PM2 daemon itself, so nothing restarts them. Resolves once
 * every one of them is gone, with their pids and when the signals were sent (`pm2 jlist` before it
 * can take seconds on a busy machine).
 */
export async function killPipelineHard(pipeline: PipelineEnv): Promise<{ pids: number[]; killedAt: number }> {
  const apps = (await pm2List(pipeline)).map((p) => p.pid).filter((pid) => pid > 0);
  const daemon = Number(await readFile(join(pipeline.pm2Home, 'pm2.pid'), 'utf8'));
  // the daemon first, so that it cannot restart an app killed before it
  const pids = [daemon, ...apps];
  const killedAt = Date.now();
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 10_000;
  while (pids.some(alive)) {
    if (Date.now() > deadline) throw new Error(`still alive after kill -9: ${pids.filter(alive).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { pids, killedAt };
}

/** Kills this pipeline's PM2 daemon and its apps whatever state they are in, and removes PM2_HOME. */
export async function destroyPipeline(pipeline: PipelineEnv): Promise<void> {
  await run(PM2_BIN, ['kill'], { cwd: REPO_ROOT, env: pipeline.env }).catch(() => undefined);
  await rm(pipeline.pm2Home, { recursive: true, force: true });
  await rm(pipeline.dataDir, { recursive: true, force: true });
}

/** A client made with the CLI, as an operator would (`npm run --silent cli -- clients create …`). */
export async function createClientWithCli(pipeline: PipelineEnv, name: string, scopes: string): Promise<string> {
  const created = await npm(pipeline, 'run', '--silent', 'cli', '--', 'clients', 'create', '--name', name, '--scopes', scopes);
  return (JSON.parse(created.stdout) as { apiKey: string }).apiKey;
}

/** The backup jobs the pipeline tests use: two active ones and an inactive one (admin API). */
export async function putTestJobs(pipeline: PipelineEnv, apiKey: string): Promise<void> {
  for (const [id, isActive] of [['active-a', true], ['active-b', true], ['inactive', false]] as const) {
    const response = await call(pipeline.url, 'PUT', `/api/v1/backup-jobs/${id}`, {
      token: apiKey,
      json: { storagePathName: `vault/${id}`, backupProviderCode: 'CloudA', daysToKeep: 7, isActive },
    });
    if (response.status !== 201) throw new Error(`PUT backup job ${id}: ${response.status}`);
  }
}

/**
 * The interface simulator's "duplicate backup request" warnings: every outbound message it saw for
 * a request it had already seen (`times` counts them), read from its PM2 log.
 */
export async function simulatorDuplicateWarnings(pipeline: PipelineEnv): Promise<{ backupRequestId: string; times: number; at: number }[]> {
  const text = await readFile(join(pipeline.pm2Home, 'logs', 'interface-simulator-out.log'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.includes('duplicate backup request'))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { backupRequestId: string; times: number; time: string | number })
    .map((entry) => ({ backupRequestId: entry.backupRequestId, times: entry.times, at: new Date(entry.time).getTime() }));
}

/** Everything this pipeline's PM2 wrote: the daemon's log and every app's out and error logs. */
export async function pm2LogText(pipeline: PipelineEnv): Promise<string> {
  const logs = join(pipeline.pm2Home, 'logs');
  const files = [join(pipeline.pm2Home, 'pm2.log'), ...(await readdir(logs)).map((name) => join(logs, name))];
  return (await Promise.all(files.map((file) => readFile(file, 'utf8').catch(() => '')))).join('\n');
}
