import { randomBytes } from 'node:crypto';
import { ensureDatabase, migrate } from '@linebacker/db';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { redact, resolveServers, withDatabase, type Servers } from './services.js';

/**
 * Vitest globalSetup of the integration and e2e projects. Per run (and per project: vitest runs a
 * project's globalSetup once for that project) it creates:
 *   - a migrated template database `lb_test_<time36>_<random>`, cloned per test file by
 *     `createTestDatabase()` as `<template>_<random>`;
 *   - a BullMQ key prefix `lbtest-<random>`, refined per test file by `testQueuePrefix()`.
 * Teardown drops every database of this run, unlinks this run's Redis keys (SCAN + UNLINK, never
 * FLUSHALL) and stops the containers it started. Nothing outside this run is touched, so two runs
 * (or a run next to a development pipeline) can share the same servers.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgres://user@host:port`, no database. */
    lbPostgresServerUrl: string;
    /** The migrated template database of this run; never connect to it (it would block cloning). */
    lbTemplateDatabase: string;
    lbRedisUrl: string;
    /** BullMQ prefix of this run; `testQueuePrefix()` derives one per test file. */
    lbQueuePrefix: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await acquireServers();
  const runName = `lb_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const queuePrefix = `lbtest-${randomBytes(6).toString('hex')}`;

  const teardown = async (): Promise<void> => {
    const results = await Promise.allSettled([
      dropRunDatabases(servers.postgresServerUrl, runName),
      unlinkKeys(servers.redisUrl, queuePrefix),
    ]);
    await releaseServers();
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      throw new AggregateError(failures.map((f) => f.reason as unknown), `test teardown of ${runName} failed`);
    }
  };

  try {
    const templateUrl = withDatabase(servers.postgresServerUrl, runName);
    await ensureDatabase(templateUrl);
    await migrate(templateUrl);
  } catch (err) {
    await teardown().catch(() => {});
    throw err;
  }

  project.provide('lbPostgresServerUrl', servers.postgresServerUrl);
  project.provide('lbTemplateDatabase', runName);
  project.provide('lbRedisUrl', servers.redisUrl);
  project.provide('lbQueuePrefix', queuePrefix);

  console.log(
    `[${project.name}] PostgreSQL ${redact(servers.postgresServerUrl)} (${servers.sources.postgres}), ` +
      `Redis ${redact(servers.redisUrl)} (${servers.sources.redis}); ` +
      `template database ${runName}, queue prefix ${queuePrefix}`,
  );

  return teardown;
}

/** Drops the template `runName` and every `runName_*` clone, even with connections still open. */
async function dropRunDatabases(postgresServerUrl: string, runName: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(postgresServerUrl, 'postgres') });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $1 || '_')`,
      [runName],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

/** Unlinks every key that starts with `prefix`, in SCAN-sized batches. */
async function unlinkKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

/*
 * When the integration and e2e projects run together, vitest calls this setup once per project in
 * the same process. Both share one set of servers, so testcontainers starts at most one Postgres
 * and one Redis; each project still gets its own template database and prefix.
 */
interface SharedServers {
  servers: Promise<Servers>;
  users: number;
}
const SHARED = Symbol.for('linebacker.test.servers');
type GlobalWithServers = typeof globalThis & { [SHARED]?: SharedServers };

async function acquireServers(): Promise<Servers> {
  const store = globalThis as GlobalWithServers;
  const shared = (store[SHARED] ??= { servers: resolveServers(), users: 0 });
  shared.users += 1;
  try {
    return await shared.servers;
  } catch (err) {
    shared.users -= 1;
    if (shared.users === 0) delete store[SHARED];
    throw err;
  }
}

async function releaseServers(): Promise<void> {
  const store = globalThis as GlobalWithServers;
  const shared = store[SHARED];
  if (!shared) return;
  shared.users -= 1;
  if (shared.users > 0) return;
  delete store[SHARED];
  await (await shared.servers).stop();
}
