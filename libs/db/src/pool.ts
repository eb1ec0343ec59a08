import pg from 'pg';
import { toDatabaseError } from './database-errors.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Either a pool (one statement, autocommit) or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export interface PoolOptions {
  url: string;
  max: number;
  connectTimeoutMs: number;
  applicationName: string;
  /**
   * The app only runs statements that find their rows by a key (the pipeline steps): its sessions
   * never plan a sequential scan (`enable_seqscan = off`). A connection caches a generic plan for a
   * prepared statement from its sixth run on, and one made while a table was still small (a fresh
   * deployment, the first seconds after a cold start, before autovacuum first analyzes it) is a
   * sequential scan that then reads the whole table on every run as it grows: seen in the bench
   * (issue 10) as 175 buffers per call of receive-status' apply statement at 2,100 requests (68
   * with this), receive-status' Postgres CPU per request 1.48 -> 0.9-1.1 ms.
   */
  keyedStatementsOnly?: boolean;
  onError: (err: Error) => void;
}

type Query = (...args: unknown[]) => unknown;

const isPromise = (value: unknown): value is Promise<unknown> => typeof (value as Promise<unknown> | undefined)?.then === 'function';

/**
 * The boundary of libs/db: promise-style queries (ours) reject with `toDatabaseError`, so an
 * unavailable Postgres reaches every caller as a DependencyUnavailableError. Callback-style calls
 * (pg-pool's own, inside `pool.query`) pass through untouched.
 */
function translating(query: Query): Query {
  return (...args) => {
    if (typeof args.at(-1) === 'function') return query(...args);
    const result = query(...args);
    return isPromise(result)
      ? result.catch((err: unknown) => {
          throw toDatabaseError(err);
        })
      : result;
  };
}

const TRANSLATED = Symbol('linebacker.translated');

function translateClient(client: pg.PoolClient): pg.PoolClient {
  if (!(TRANSLATED in client)) {
    client.query = translating(client.query.bind(client)) as typeof client.query;
    Object.defineProperty(client, TRANSLATED, { value: true });
  }
  return client;
}

/**
 * A pg pool for one app. An idle client's error (Postgres restarted) is reported, never thrown at
 * the process. Its queries, and those of the clients it hands out, throw DependencyUnavailableError
 * when Postgres is unavailable (database-errors.ts). (Repositories select dates as `YYYY-MM-DD`
 * text, so no type parser is needed.)
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName,
    ...(options.keyedStatementsOnly ? { options: '-c enable_seqscan=off' } : {}),
  });
  pool.on('error', options.onError);
  pool.query = translating(pool.query.bind(pool)) as typeof pool.query;
  const connect = pool.connect.bind(pool) as (callback?: unknown) => Promise<pg.PoolClient> | undefined;
  pool.connect = ((callback?: unknown) =>
    callback
      ? connect(callback)
      : connect()!.then(translateClient, (err: unknown) => {
          throw toDatabaseError(err);
        })) as typeof pool.connect;
  return pool;
}
