import type { Scope } from '@linebacker/domain';
import type { Queryable } from '../pool.js';

export interface ApiClient {
  clientId: string;
  name: string;
  scopes: Scope[];
}

const CLIENT_COLUMNS = `client_id AS "clientId", name, scopes`;

export async function createApiClient(
  db: Queryable,
  client: ApiClient & { keyHash: string | null },
): Promise<ApiClient> {
  const { rows } = await db.query<ApiClient>(
    `INSERT INTO api_clients (client_id, name, key_hash, scopes) VALUES ($1, $2, $3, $4) RETURNING ${CLIENT_COLUMNS}`,
    [client.clientId, client.name, client.keyHash, client.scopes],
  );
  const [row] = rows;
  if (!row) throw new Error('insert returned no row');
  return row;
}

/** The enabled client holding the API key with this hash. */
export async function findApiClientByKeyHash(db: Queryable, keyHash: string): Promise<ApiClient | undefined> {
  const { rows } = await db.query<ApiClient>(
    `SELECT ${CLIENT_COLUMNS} FROM api_clients WHERE key_hash = $1 AND disabled_at IS NULL`,
    [keyHash],
  );
  return rows[0];
}

/** The enabled client with this id (for JWT subjects). */
export async function findApiClientById(db: Queryable, clientId: string): Promise<ApiClient | undefined> {
  const { rows } = await db.query<ApiClient>(
    `SELECT ${CLIENT_COLUMNS} FROM api_clients WHERE client_id = $1 AND disabled_at IS NULL`,
    [clientId],
  );
  return rows[0];
}
