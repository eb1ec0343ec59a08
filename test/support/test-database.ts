import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './services.js';

/** Postgres: "source database is being accessed by other users" (another clone is in progress). */
const OBJECT_IN_USE = '55006';
const CLONE_ATTEMPTS = 50;
const CLONE_RETRY_MS = 100;

export interface TestDatabase {
  /** URL of a fresh, fully migrated database that belongs to the calling test file alone. */
  databaseUrl: string;
  /**
   * Drops the database, terminating any connection still open to it (end your pools first, or
   * their idle clients emit errors). Safe to call twice.
   */
  drop(): Promise<void>;
}

/**
 * A fresh migrated database for one test file, cloned from the run's template database
 * (`CREATE DATABASE ... TEMPLATE`, much faster than migrating again). Typical use:
 *
 *   let db: TestDatabase;
 *   beforeAll(async () => { db = await createTestDatabase(); });
 *   afterAll(() => db.drop());
 *
 * The globalSetup drops every database of the run at the end anyway, so a crashed file leaks
 * nothing beyond the run.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('lbPostgresServerUrl');
  const template = inject('lbTemplateDatabase');
  const name = `${template}_${randomBytes(4).toString('hex')}`;

  await withAdminClient(serverUrl, async (client) => {
    const sql = `CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE ${client.escapeIdentifier(template)}`;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await client.query(sql);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== OBJECT_IN_USE || attempt >= CLONE_ATTEMPTS) throw err;
        await sleep(CLONE_RETRY_MS);
      }
    }
  });

  return {
    databaseUrl: withDatabase(serverUrl, name),
    drop: () =>
      withAdminClient(serverUrl, async (client) => {
        // Give pools that are ending a moment to disconnect: FORCE would terminate their sessions,
        // and a terminated idle client emits an 'error' nobody listens to any more.
        const database = client.escapeIdentifier(name);
        for (let attempt = 1; attempt <= 20; attempt += 1) {
          try {
            await client.query(`DROP DATABASE IF EXISTS ${database}`);
            return;
          } catch (err) {
            if ((err as { code?: string }).code !== OBJECT_IN_USE) throw err;
            await sleep(CLONE_RETRY_MS);
          }
        }
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }),
  };
}

/**
 * A BullMQ prefix of its own for the calling test file: `<run prefix>-<random>`. Every call returns
 * a new one, so call it once per file (or per test, for even more isolation). The run's teardown
 * unlinks all keys under the run prefix.
 */
export function testQueuePrefix(): string {
  return `${inject('lbQueuePrefix')}-${randomBytes(4).toString('hex')}`;
}

/** The Redis server of the run; use it with `testQueuePrefix()`, never flush it. */
export function testRedisUrl(): string {
  return inject('lbRedisUrl');
}

async function withAdminClient(serverUrl: string, use: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl, 'postgres') });
  await client.connect();
  try {
    await use(client);
  } finally {
    await client.end();
  }
}
