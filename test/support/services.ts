import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Where the integration and e2e tests find PostgreSQL and Redis. Each service is decided on its
 * own, first match wins:
 *   1. `DATABASE_URL` / `REDIS_URL` when set (only the server part of DATABASE_URL is used: the
 *      tests create and drop their own databases). A set variable that does not answer is an error,
 *      never silently replaced by something else.
 *   2. The local default ports 127.0.0.1:5432 (user postgres) / 127.0.0.1:6379, if they answer
 *      within about a second.
 *   3. testcontainers (postgres:15-alpine, redis:7-alpine with noeviction), when a container
 *      runtime is available.
 * When a service is found nowhere, one Error says what to start or which variables to set.
 */

export type ServiceSource = 'env' | 'local' | 'container';

export interface Servers {
  /** `postgres://user[:password]@host:port` with no database: add one with `withDatabase()`. */
  postgresServerUrl: string;
  /** `redis://host:port[/db]`: keys go under a per-run prefix, never flush this server. */
  redisUrl: string;
  /** Where each server came from, for the one log line of the run. */
  sources: { postgres: ServiceSource; redis: ServiceSource };
  /** Stops the containers this call started, if any. */
  stop(): Promise<void>;
}

interface Resolved {
  url: string;
  source: ServiceSource;
  stop(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 1_000;
const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432';
const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';
const POSTGRES_IMAGE = 'postgres:15-alpine';
const REDIS_IMAGE = 'redis:7-alpine';

/** The same server URL with `database` as its path (query parameters such as sslmode are kept). */
export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** A URL that is safe to print: the password is masked. */
export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export async function resolveServers(): Promise<Servers> {
  const [postgres, redis] = await Promise.allSettled([resolvePostgres(), resolveRedis()]);

  if (postgres.status === 'rejected' || redis.status === 'rejected') {
    // release whichever one did start before reporting
    if (postgres.status === 'fulfilled') await postgres.value.stop();
    if (redis.status === 'fulfilled') await redis.value.stop();
    const problems: string[] = [];
    if (postgres.status === 'rejected') problems.push(`  - PostgreSQL: ${message(postgres.reason)}`);
    if (redis.status === 'rejected') problems.push(`  - Redis: ${message(redis.reason)}`);
    throw new Error(
      [
        'The integration and e2e tests need a PostgreSQL server and a Redis server.',
        ...problems,
        'Fix it in one of these ways:',
        '  - start the local services (or run .ci/run, which does):',
        '      pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
        '      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
        '  - point the tests at running servers, e.g.',
        '      DATABASE_URL=postgres://postgres@127.0.0.1:5432/any REDIS_URL=redis://127.0.0.1:6379',
        '    (the tests create and drop their own lb_test_* databases and use their own key prefix;',
        '    the database named in DATABASE_URL is never touched)',
        `  - start a Docker engine, so testcontainers can run ${POSTGRES_IMAGE} and ${REDIS_IMAGE}`,
      ].join('\n'),
    );
  }

  return {
    postgresServerUrl: postgres.value.url,
    redisUrl: redis.value.url,
    sources: { postgres: postgres.value.source, redis: redis.value.source },
    async stop() {
      await Promise.all([postgres.value.stop(), redis.value.stop()]);
    },
  };
}

async function resolvePostgres(): Promise<Resolved> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    const serverUrl = postgresServerPart(fromEnv);
    const problem = await probePostgres(serverUrl);
    if (problem) throw new Error(`DATABASE_URL is set (${redact(fromEnv)}) but that server does not answer: ${problem}`);
    return { url: serverUrl, source: 'env', stop: async () => {} };
  }

  const localProblem = await probePostgres(LOCAL_POSTGRES_URL);
  if (!localProblem) return { url: LOCAL_POSTGRES_URL, source: 'local', stop: async () => {} };

  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer(POSTGRES_IMAGE).start();
    return {
      url: postgresServerPart(container.getConnectionUri()),
      source: 'container',
      stop: async () => {
        await container.stop();
      },
    };
  } catch (err) {
    throw new Error(
      `DATABASE_URL is not set; nothing answered on 127.0.0.1:5432 (${localProblem}); ` +
        `testcontainers could not start ${POSTGRES_IMAGE} (${message(err)})`,
    );
  }
}

async function resolveRedis(): Promise<Resolved> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    const problem = await probeRedis(fromEnv);
    if (problem) throw new Error(`REDIS_URL is set (${redact(fromEnv)}) but that server does not answer: ${problem}`);
    return { url: fromEnv, source: 'env', stop: async () => {} };
  }

  const localProblem = await probeRedis(LOCAL_REDIS_URL);
  if (!localProblem) return { url: LOCAL_REDIS_URL, source: 'local', stop: async () => {} };

  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    // BullMQ requires noeviction: an evicted job key is a silently lost job
    const container = await new RedisContainer(REDIS_IMAGE)
      .withCommand(['redis-server', '--maxmemory-policy', 'noeviction'])
      .start();
    return {
      url: container.getConnectionUrl(),
      source: 'container',
      stop: async () => {
        await container.stop();
      },
    };
  } catch (err) {
    throw new Error(
      `REDIS_URL is not set; nothing answered on 127.0.0.1:6379 (${localProblem}); ` +
        `testcontainers could not start ${REDIS_IMAGE} (${message(err)})`,
    );
  }
}

/** The server part of a Postgres URL: same credentials, host, port and parameters, no database. */
function postgresServerPart(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`DATABASE_URL must start with postgres:// (got ${redact(databaseUrl)})`);
  }
  url.pathname = '';
  return url.toString();
}

/** Undefined when the server answers `SELECT 1` on its `postgres` database, else why not. */
async function probePostgres(serverUrl: string): Promise<string | undefined> {
  const client = new pg.Client({
    connectionString: withDatabase(serverUrl, 'postgres'),
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    query_timeout: PROBE_TIMEOUT_MS,
  });
  client.on('error', () => {}); // a probe reports through its promise only
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return message(err);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Undefined when the server answers PING, else why not. */
async function probeRedis(redisUrl: string): Promise<string | undefined> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // a probe reports through its promise only; keep the socket error, it says more than
  // ioredis' own "Connection is closed."
  let socketError: unknown;
  redis.on('error', (err) => {
    socketError ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    return message(socketError ?? err);
  } finally {
    redis.disconnect();
  }
}

function message(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map(message).join('; ');
  }
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
