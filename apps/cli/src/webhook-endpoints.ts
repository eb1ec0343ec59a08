import { lookup } from 'node:dns/promises';
import type { WebhookConfig } from '@linebacker/config';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  findApiClientById,
  listWebhookEndpoints,
  type Queryable,
  type WebhookEndpoint,
} from '@linebacker/db';
import { REQUEST_STATUSES, validateWebhookEndpointInput, webhookDestinationProblem } from '@linebacker/domain';

/*
 * `webhooks add | list | remove` for operators (SPEC §8): the same rules as the API
 * (POST /api/v1/webhook-endpoints), for any client.
 */

const shown = (endpoint: WebhookEndpoint) => ({
  endpointId: endpoint.endpointId,
  clientId: endpoint.clientId,
  url: endpoint.url,
  statuses: endpoint.statuses ?? [...REQUEST_STATUSES],
  createdAt: endpoint.createdAt.toISOString(),
  lastDeliveredAt: endpoint.lastDeliveredAt?.toISOString() ?? null,
  failing: endpoint.failingSince !== null,
  failingSince: endpoint.failingSince?.toISOString() ?? null,
});

/** Registers an endpoint for a client; the result carries the secret, shown only this once. */
export async function addWebhookEndpoint(
  db: Queryable,
  webhooks: WebhookConfig,
  options: { client: string; url: string; statuses?: string | undefined },
) {
  const statuses = options.statuses?.split(',').map((status) => status.trim()).filter(Boolean);
  const input = validateWebhookEndpointInput({ url: options.url, statuses });
  if (!input.ok) throw new Error(input.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  const problem = await webhookDestinationProblem(new URL(input.value.url), {
    allowPrivate: webhooks.allowPrivate,
    lookup: (hostname) => lookup(hostname, { all: true }),
  });
  if (problem) throw new Error(`url: ${problem}`);
  if (!(await findApiClientById(db, options.client))) throw new Error(`no client ${options.client}`);
  const { endpoint, secret } = await createWebhookEndpoint(db, options.client, input.value, webhooks.secretKey);
  return { ...shown(endpoint), secret };
}

/** Every endpoint (or one client's), newest first; never a secret. */
export async function listWebhookEndpointsOf(db: Queryable, clientId: string | undefined) {
  const endpoints: ReturnType<typeof shown>[] = [];
  let before: string | undefined;
  do {
    const page = await listWebhookEndpoints(db, { clientId, before, limit: 500 });
    endpoints.push(...page.items.map(shown));
    before = page.next;
  } while (before);
  return endpoints;
}

export async function removeWebhookEndpoint(db: Queryable, endpointId: string) {
  const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(endpointId);
  if (!valid || !(await deleteWebhookEndpoint(db, endpointId))) throw new Error(`no webhook endpoint ${endpointId}`);
  return { endpointId, removed: true };
}
