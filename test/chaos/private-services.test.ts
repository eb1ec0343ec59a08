import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../support/private-services.js';

/** The chaos suite's own servers really flush, stop, start and restart, on ports of their own. */
let redis: PrivateRedis;
let postgres: PrivatePostgres;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startPrivateRedis(), startPrivatePostgres()]);
});
afterAll(async () => {
  await Promise.allSettled([redis?.destroy(), postgres?.destroy()]);
});

describe('private Redis and Postgres for the chaos suite', () => {
  it('are not the shared servers', () => {
    expect(redis.port).not.toBe(6379);
    expect(postgres.port).not.toBe(5432);
  });

  it('Redis: FLUSHALL empties it, stop/start keeps the port and loses everything', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    client.on('error', () => {});
    try {
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      await client.set('k', 'v');
      await redis.flushAll();
      expect(await client.dbsize()).toBe(0);
      await client.set('k', 'v');
      await redis.stop();
      await redis.start();
      expect(await client.get('k')).toBeNull(); // the client reconnected to the new server
    } finally {
      client.disconnect();
    }
  });

  it('Postgres: restart keeps the data and drops the sessions', async () => {
    const client = new pg.Client({ connectionString: `${postgres.serverUrl}/postgres` });
    let dropped = false;
    client.on('error', () => {
      dropped = true;
    });
    await client.connect();
    await client.query('CREATE TABLE t (x int); INSERT INTO t VALUES (1)');
    await postgres.restart(500);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    expect(dropped).toBe(true);
    await client.end().catch(() => {});
    const again = new pg.Client({ connectionString: `${postgres.serverUrl}/postgres` });
    await again.connect();
    expect((await again.query('SELECT x FROM t')).rows).toEqual([{ x: 1 }]);
    await again.end();
  });
});
