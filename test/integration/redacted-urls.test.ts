import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import { prepareDatabase } from '@linebacker/db';
import { warnAboutRedis } from '../../apps/cli/src/start-pipeline.js';
import { freePort } from '../support/free-port.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/*
 * What `npm start` prints about REDIS_URL and DATABASE_URL never contains their passwords (the
 * password is replaced by ***; where the service is still named, so the operator sees which one).
 */

const SECRET = 'Pa55-w0rd-that-must-not-show';
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const withPassword = (url: string, user: string) => {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = SECRET;
  return parsed.toString();
};

describe('npm start prints no password', () => {
  it('REDIS_URL: the warning when Redis does not answer', async () => {
    const lines: string[] = [];
    const port = await freePort();
    await warnAboutRedis(loadConfig({ REDIS_URL: `redis://default:${SECRET}@127.0.0.1:${port}` }).redis, (line) => lines.push(line));
    expect(lines).toEqual([expect.stringContaining(`Redis at redis://default:***@127.0.0.1:${port} does not answer`)]);
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('Redis Sentinel with REDIS_PASSWORD and a Sentinel password: the warning names the Sentinels, never a password', async () => {
    const lines: string[] = [];
    const port = await freePort();
    const config = loadConfig({ LINEBACKER_REDIS_SENTINELS: `127.0.0.1:${port}`, REDIS_PASSWORD: SECRET, LINEBACKER_REDIS_SENTINEL_PASSWORD: SECRET }).redis;
    await warnAboutRedis(config, (line) => lines.push(line));
    expect(lines).toEqual([expect.stringContaining(`Redis Sentinel 127.0.0.1:${port} (primary "mymaster") does not answer`)]);
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('DATABASE_URL: the migration log, and the error when Postgres does not answer', async () => {
    const lines: string[] = [];
    // the test server trusts local connections: the password is sent along and ignored
    await prepareDatabase(withPassword(db.databaseUrl, 'postgres'), (line) => lines.push(line));
    const port = await freePort();
    const failed = await prepareDatabase(`postgres://postgres:${SECRET}@127.0.0.1:${port}/nowhere`, (line) => lines.push(line)).catch(
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(Error);
    expect(`${String(failed)} ${JSON.stringify(failed)} ${(failed as Error).stack}`).not.toContain(SECRET);
    expect(lines.join('\n')).not.toContain(SECRET);
  });
});
