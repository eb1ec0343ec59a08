import type { Pool, PoolClient } from './pool.js';

/**
 * Runs `work` in one transaction on one client. A client whose connection broke is destroyed
 * rather than returned to the pool.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client whose connection drops emits 'error'; unheard, it would kill the process.
  // The failure reaches us anyway through the pending or next query.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      broken = rollbackErr as Error;
    }
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
