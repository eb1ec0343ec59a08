import type { Config, RedisConfig } from '@linebacker/config';
import { prepareDatabase } from '@linebacker/db';
import { createProducerConnection, evictionPolicyProblem, waitUntilReady } from '@linebacker/queues';
import { ECOSYSTEM_FILE, pipelineAppNames } from './pipeline-apps.js';
import { pm2Client } from './pm2-client.js';

const log = (message: string) => process.stderr.write(`${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Warns (on stderr) when Redis does not answer or may evict; where Redis is is printed without credentials. */
export async function warnAboutRedis(config: RedisConfig, warn: (message: string) => void = log): Promise<void> {
  const redis = createProducerConnection(config, 'linebacker:cli');
  redis.on('error', () => {});
  try {
    if (await waitUntilReady(redis, 3000)) {
      const problem = await evictionPolicyProblem(redis);
      if (problem) warn(`WARNING: ${problem}`);
    } else {
      warn(`WARNING: ${config.location} does not answer; requests are accepted but wait in Postgres until it does`);
    }
  } finally {
    redis.disconnect();
  }
}

async function waitUntilOnline(names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const processes = await pm2Client.list();
    const notOnline = names.filter(
      (name) => !processes.some((p) => p.name === name && p.pm2_env?.status === 'online'),
    );
    if (notOnline.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not online after ${timeoutMs} ms: ${notOnline.join(', ')} (see pm2 logs)`);
    await sleep(250);
  }
}

async function waitUntilLive(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/livez`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/livez did not answer within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/**
 * `npm start`: migrate, start every app of this host (LINEBACKER_HOST_APPS, default all) under the
 * PM2 daemon (PM2_HOME), return once all report ready, and print the URL (when this host runs the
 * http-receiver). Running it again restarts the apps with the current environment.
 */
export async function startPipeline(config: Config): Promise<void> {
  const applied = await prepareDatabase(config.database.url, log);
  log(`database ready (${applied.length} migration(s) applied)`);
  await warnAboutRedis(config.redis);

  const names = pipelineAppNames();
  await pm2Client.connect();
  try {
    await pm2Client.start(ECOSYSTEM_FILE);
    await waitUntilOnline(names, 60_000);
    log(`started under PM2 on ${config.instance.hostName}: ${names.join(', ')}`);
    if (!names.includes('http-receiver')) {
      process.stdout.write(`linebacker apps running on ${config.instance.hostName}: ${names.join(', ')} (no http-receiver on this host)\n`);
      return;
    }
    const url = `http://127.0.0.1:${config.http.port}`;
    await waitUntilLive(url, 30_000);
    process.stdout.write(`linebacker is running at ${url}\n`);
  } finally {
    pm2Client.disconnect();
  }
}

/** `npm stop`: delete the pipeline's apps; stop the PM2 daemon if nothing else runs in it. */
export async function stopPipeline(): Promise<void> {
  await pm2Client.connect();
  const running = new Set((await pm2Client.list()).map((p) => p.name));
  for (const name of pipelineAppNames().filter((app) => running.has(app))) {
    await pm2Client.delete(name);
    log(`stopped ${name}`);
  }
  if ((await pm2Client.list()).length === 0) {
    await pm2Client.killDaemon();
    log('PM2 daemon stopped');
  }
  pm2Client.disconnect();
}
