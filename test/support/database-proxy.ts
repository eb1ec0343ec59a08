import { createPool, type Pool } from '@linebacker/db';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * libs/db's pool (whose boundary turns an unreachable Postgres into DependencyUnavailableError) to
 * `databaseUrl` through a TCP proxy of its own, so a test can cut Postgres off for that pool alone.
 */
export async function poolBehindProxy(databaseUrl: string): Promise<{ pool: Pool; proxy: TcpProxy; close: () => Promise<void> }> {
  const url = new URL(databaseUrl);
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  const pool = createPool({ url: url.toString(), max: 2, connectTimeoutMs: 1000, applicationName: 'test', onError: () => {} });
  return {
    pool,
    proxy,
    close: async () => {
      await pool.end();
      await proxy.close();
    },
  };
}
