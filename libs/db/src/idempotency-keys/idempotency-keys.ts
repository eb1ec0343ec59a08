import type { Queryable } from '../pool.js';

export interface StoredResponse {
  requestHash: string;
  status: number;
  body: unknown;
}

export async function findStoredResponse(
  db: Queryable,
  clientId: string,
  key: string,
): Promise<StoredResponse | undefined> {
  const { rows } = await db.query<StoredResponse>(
    `SELECT request_hash AS "requestHash", response_status AS status, response_body AS body
     FROM idempotency_keys WHERE client_id = $1 AND idempotency_key = $2`,
    [clientId, key],
  );
  return rows[0];
}

/**
 * Saves the response given for an idempotency key. Returns false when the key was saved by a
 * concurrent request first (the caller then rolls back and answers from the stored response).
 */
export async function saveStoredResponse(
  db: Queryable,
  clientId: string,
  key: string,
  response: StoredResponse,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO idempotency_keys (client_id, idempotency_key, request_hash, response_status, response_body)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    [clientId, key, response.requestHash, response.status, JSON.stringify(response.body)],
  );
  return rowCount === 1;
}
