import type { Scope } from '@linebacker/domain';
import type { Queryable } from '../pool.js';

export interface ApiClient {
  clientId: string;
  name: string;
  scopes: Scope[];
}

/** What `clients list` shows: never a key or its hash. */
export interface ApiClientSummary extends ApiClient {
  createdAt: Date;
  disabledAt: Date | null;
  lastUsedAt: Date | null;
  hasKey: boolean;
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

/** The enabled client holding the API key with this hash; records that the key was used. */
export async function findApiClientByKeyHash(db: Queryable, keyHash: string): Promise<ApiClient | undefined> {
  const { rows } = await db.query<ApiClient>(
    `UPDATE api_clients SET last_used_at = now() WHERE key_hash = $1 AND disabled_at IS NULL RETURNING ${CLIENT_COLUMNS}`,
    [keyHash],
  );
  return rows[0];
}

/** The enabled client with this id (for JWT subjects); records that the client was seen. */
export async function findApiClientById(db: Queryable, clientId: string): Promise<ApiClient | undefined> {
  const { rows } = await db.query<ApiClient>(
    `UPDATE api_clients SET last_used_at = now() WHERE client_id = $1 AND disabled_at IS NULL RETURNING ${CLIENT_COLUMNS}`,
    [clientId],
  );
  return rows[0];
}

/** Every client, oldest first. */
export async function listApiClients(db: Queryable): Promise<ApiClientSummary[]> {
  const { rows } = await db.query<ApiClientSummary>(
    `SELECT ${CLIENT_COLUMNS}, created_at AS "createdAt", disabled_at AS "disabledAt",
            last_used_at AS "lastUsedAt", key_hash IS NOT NULL AS "hasKey"
       FROM api_clients ORDER BY created_at, client_id`,
  );
  return rows;
}

/**
 * Disables a client (its keys and JWTs are refused from the next lookup, i.e. within the
 * receivers' auth cache lifetime) and ends its browser sessions at once. Undefined if unknown.
 */
export async function disableApiClient(db: Queryable, clientId: string): Promise<ApiClient | undefined> {
  const { rows } = await db.query<ApiClient>(
    `WITH ended AS (DELETE FROM browser_sessions WHERE client_id = $1)
     UPDATE api_clients SET disabled_at = coalesce(disabled_at, now()) WHERE client_id = $1 RETURNING ${CLIENT_COLUMNS}`,
    [clientId],
  );
  return rows[0];
}

/** Enables a disabled client again (its current key works again). Undefined if unknown. */
export async function enableApiClient(db: Queryable, clientId: string): Promise<ApiClient | undefined> {
  const { rows } = await db.query<ApiClient>(
    `UPDATE api_clients SET disabled_at = NULL WHERE client_id = $1 RETURNING ${CLIENT_COLUMNS}`,
    [clientId],
  );
  return rows[0];
}

/**
 * Replaces a client's key (the old one is refused from the next lookup) and ends the browser
 * sessions started with the old one. Undefined if unknown.
 */
export async function replaceApiKey(db: Queryable, clientId: string, keyHash: string): Promise<ApiClient | undefined> {
  const { rows } = await db.query<ApiClient>(
    `WITH ended AS (DELETE FROM browser_sessions WHERE client_id = $1)
     UPDATE api_clients SET key_hash = $2 WHERE client_id = $1 RETURNING ${CLIENT_COLUMNS}`,
    [clientId, keyHash],
  );
  return rows[0];
}
