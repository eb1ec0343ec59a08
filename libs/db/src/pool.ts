import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Either a pool (one statement, autocommit) or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

const DATE_OID = 1082;

const keepDatesAsText = ((oid: number, format?: 'text' | 'binary') =>
  oid === DATE_OID ? (value: string) => value : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser;

export interface PoolOptions {
  url: string;
  max: number;
  connectTimeoutMs: number;
  applicationName: string;
  onError: (err: Error) => void;
}

/**
 * A pg pool for one app. `date` columns stay `YYYY-MM-DD` strings (no time-zone shift through JS
 * Dates); an idle client's error (Postgres restarted) is reported, never thrown at the process.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName,
    types: { getTypeParser: keepDatesAsText },
  });
  pool.on('error', options.onError);
  return pool;
}
