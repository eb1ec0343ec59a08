import type { AppContext } from '@linebacker/runtime';
import { createPool, type Pool, type PoolOptions } from './pool.js';

/** The app's Postgres pool, from config, closed with the app. */
export function openPool(
  { config, logger, onShutdown }: Pick<AppContext, 'config' | 'logger' | 'onShutdown'>,
  app: string,
  options: Pick<PoolOptions, 'keyedStatementsOnly'> = {},
): Pool {
  const pool = createPool({
    url: config.database.url,
    max: config.database.poolSize,
    connectTimeoutMs: config.database.connectTimeoutMs,
    applicationName: `linebacker ${app}`,
    ...options,
    onError: (err) => logger.warn({ err }, 'idle Postgres client failed'),
  });
  onShutdown('postgres pool', () => pool.end());
  return pool;
}
