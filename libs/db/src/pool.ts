import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Either a pool (one statement, autocommit) or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export interface PoolOptions {
  url: string;
  max: number;
  connectTimeoutMs: number;
  applicationName: string;
  onError: (err: Error) => void;
}

/**
 * A pg pool for one app. An idle client's error (Postgres restarted) is reported, never thrown at
 * the process. (Repositories select dates as `YYYY-MM-DD` text, so no type parser is needed.)
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName,
  });
  pool.on('error', options.onError);
  return pool;
}
