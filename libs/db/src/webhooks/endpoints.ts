import type { RequestStatus } from '@linebacker/domain';
import type { Queryable } from '../pool.js';

/** A webhook endpoint as stored (SPEC §8); `storedSecret` is the secret as stored (sealed or not). */
export interface WebhookEndpoint {
  endpointId: string;
  clientId: string;
  url: string;
  /** null: every status. */
  statuses: RequestStatus[] | null;
  createdAt: Date;
  lastDeliveredAt: Date | null;
  /** Set while the endpoint is failing (a delivery gave up after the whole retry window). */
  failingSince: Date | null;
}

const ENDPOINT_COLUMNS = `endpoint_id AS "endpointId", client_id AS "clientId", url, statuses, created_at AS "createdAt",
  last_delivered_at AS "lastDeliveredAt", failing_since AS "failingSince"`;

export async function insertWebhookEndpoint(
  db: Queryable,
  endpoint: { endpointId: string; clientId: string; url: string; statuses: RequestStatus[] | undefined; storedSecret: string },
): Promise<WebhookEndpoint> {
  const { rows } = await db.query<WebhookEndpoint>(
    `INSERT INTO webhook_endpoints (endpoint_id, client_id, url, statuses, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
    [endpoint.endpointId, endpoint.clientId, endpoint.url, endpoint.statuses ?? null, endpoint.storedSecret],
  );
  return rows[0]!;
}

export async function getWebhookEndpoint(db: Queryable, endpointId: string): Promise<WebhookEndpoint | undefined> {
  const { rows } = await db.query<WebhookEndpoint>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE endpoint_id = $1`, [endpointId]);
  return rows[0];
}

export interface WebhookEndpointPage {
  items: WebhookEndpoint[];
  /** Pass as `before` for the next (older) page; undefined on the last page. */
  next: string | undefined;
}

/** A client's endpoints (or everyone's: `clientId` undefined), newest first (ids are UUID v7). */
export async function listWebhookEndpoints(
  db: Queryable,
  filter: { clientId?: string | undefined; before?: string | undefined; limit: number },
): Promise<WebhookEndpointPage> {
  const { rows } = await db.query<WebhookEndpoint>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints
     WHERE ($1::text IS NULL OR client_id = $1) AND ($2::uuid IS NULL OR endpoint_id < $2)
     ORDER BY endpoint_id DESC LIMIT $3`,
    [filter.clientId ?? null, filter.before ?? null, filter.limit + 1],
  );
  const items = rows.slice(0, filter.limit);
  return { items, next: rows.length > filter.limit ? items.at(-1)?.endpointId : undefined };
}

/** Deletes an endpoint and its deliveries; false when there was none. */
export async function deleteWebhookEndpoint(db: Queryable, endpointId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM webhook_endpoints WHERE endpoint_id = $1', [endpointId]);
  return (rowCount ?? 0) > 0;
}

/**
 * The endpoints of these clients, for the fan-out: who gets which events. A disabled client's
 * endpoints get no new events (deliveries made before it was disabled still go out).
 */
export async function endpointsOfClients(
  db: Queryable,
  clientIds: string[],
): Promise<Pick<WebhookEndpoint, 'endpointId' | 'clientId' | 'statuses' | 'createdAt'>[]> {
  const { rows } = await db.query<Pick<WebhookEndpoint, 'endpointId' | 'clientId' | 'statuses' | 'createdAt'>>(
    `SELECT e.endpoint_id AS "endpointId", e.client_id AS "clientId", e.statuses, e.created_at AS "createdAt"
     FROM webhook_endpoints e JOIN api_clients c USING (client_id)
     WHERE e.client_id = ANY ($1::text[]) AND c.disabled_at IS NULL`,
    [clientIds],
  );
  return rows;
}
