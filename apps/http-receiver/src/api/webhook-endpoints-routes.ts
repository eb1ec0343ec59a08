import { lookup } from 'node:dns/promises';
import { Router } from 'express';
import type { WebhookConfig } from '@linebacker/config';
import { createWebhookEndpoint, deleteWebhookEndpoint, getWebhookEndpoint, listDeliveries, listWebhookEndpoints, type Queryable, type WebhookEndpoint } from '@linebacker/db';
import { validateWebhookEndpointInput, validateWith, webhookDestinationProblem, type AddressLookup, type Scope } from '@linebacker/domain';
import { principalOf, requireScope } from '../auth/auth-middleware.js';
import { jsonBody } from './json-body.js';
import { notFoundProblem, validationProblem } from './problem.js';
import { deliveryListQuerySchema, encodeCursor, webhookEndpointListQuerySchema } from './api-schemas.js';
import { deliveryRepresentation, webhookEndpointLocation, webhookEndpointRepresentation } from './representation.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Who reads every client's endpoints, as for requests (backup-requests-routes.ts): admins and operators. */
const READS_ANY: Scope[] = ['jobs:admin', 'ops:read'];

const resolveAll: AddressLookup = (hostname) => lookup(hostname, { all: true });

/**
 * Webhook endpoints (SPEC §8): a client with `requests:read` creates, lists, reads and deletes its
 * own endpoints and reads their deliveries. Another client's endpoint is 404, as another client's
 * request is, unless the caller reads every client's (`jobs:admin`, `ops:read`; the list with
 * `all=true` and `ops:read`); deleting another client's endpoint takes `jobs:admin`.
 */
export function webhookEndpointsRoutes(deps: { db: Queryable; webhooks: WebhookConfig; lookup?: AddressLookup }): Router {
  const router = Router();
  const readOwn = requireScope('requests:read');
  const readAll = requireScope('ops:read');

  /** The endpoint, if the caller may see it (with `scopes` that read every client's); else 404. */
  const visibleEndpoint = async (id: string, clientId: string, scopes: ReadonlySet<Scope>, anyWith: Scope[]): Promise<WebhookEndpoint> => {
    const endpoint = UUID.test(id) ? await getWebhookEndpoint(deps.db, id) : undefined;
    if (!endpoint || (endpoint.clientId !== clientId && !anyWith.some((scope) => scopes.has(scope)))) {
      throw notFoundProblem(`no webhook endpoint ${id}`);
    }
    return endpoint;
  };

  router.post('/', readOwn, jsonBody, async (req, res) => {
    const input = validateWebhookEndpointInput(req.body as unknown);
    if (!input.ok) throw validationProblem(input.errors, 'webhook endpoint');
    const problem = await webhookDestinationProblem(new URL(input.value.url), {
      allowPrivate: deps.webhooks.allowPrivate,
      lookup: deps.lookup ?? resolveAll,
    });
    if (problem) throw validationProblem([{ field: 'url', message: problem }], 'webhook endpoint');
    const { endpoint, secret } = await createWebhookEndpoint(deps.db, principalOf(res).clientId, input.value, deps.webhooks.secretKey);
    res.status(201).location(webhookEndpointLocation(endpoint.endpointId)).json({ ...webhookEndpointRepresentation(endpoint), secret });
  });

  router.get('/', (req, res, next) => (req.query.all === 'true' ? readAll : readOwn)(req, res, next), async (req, res) => {
    const query = validateWith(webhookEndpointListQuerySchema, req.query);
    if (!query.ok) throw validationProblem(query.errors, 'query');
    const page = await listWebhookEndpoints(deps.db, {
      clientId: query.value.all ? undefined : principalOf(res).clientId,
      before: query.value.cursor,
      limit: query.value.limit,
    });
    res.json({ items: page.items.map(webhookEndpointRepresentation), nextCursor: encodeCursor(page.next) });
  });

  router.get('/:endpointId', requireScope('requests:read', ...READS_ANY), async (req, res) => {
    const { clientId, scopes } = principalOf(res);
    res.json(webhookEndpointRepresentation(await visibleEndpoint(String(req.params.endpointId), clientId, scopes, READS_ANY)));
  });

  router.delete('/:endpointId', requireScope('requests:read', 'jobs:admin'), async (req, res) => {
    const { clientId, scopes } = principalOf(res);
    const endpoint = await visibleEndpoint(String(req.params.endpointId), clientId, scopes, ['jobs:admin']);
    await deleteWebhookEndpoint(deps.db, endpoint.endpointId);
    res.status(204).end();
  });

  router.get('/:endpointId/deliveries', requireScope('requests:read', ...READS_ANY), async (req, res) => {
    const { clientId, scopes } = principalOf(res);
    const endpoint = await visibleEndpoint(String(req.params.endpointId), clientId, scopes, READS_ANY);
    const query = validateWith(deliveryListQuerySchema, req.query);
    if (!query.ok) throw validationProblem(query.errors, 'query');
    const page = await listDeliveries(deps.db, endpoint.endpointId, { before: query.value.cursor, limit: query.value.limit });
    res.json({ items: page.items.map(deliveryRepresentation), nextCursor: encodeCursor(page.next) });
  });

  return router;
}
