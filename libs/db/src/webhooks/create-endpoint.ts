import { v7 as uuidv7 } from 'uuid';
import { generateWebhookSecret, sealWebhookSecret, webhookSecretKey, type WebhookEndpointInput } from '@linebacker/domain';
import type { Queryable } from '../pool.js';
import { insertWebhookEndpoint, type WebhookEndpoint } from './endpoints.js';

/**
 * Creates a client's endpoint (its url already validated and its destination checked) with a new
 * secret, stored sealed when `secretKey` (LINEBACKER_WEBHOOK_SECRET_KEY) is set; returns the
 * endpoint and the secret, which is shown this once (SPEC §8).
 */
export async function createWebhookEndpoint(
  db: Queryable,
  clientId: string,
  input: WebhookEndpointInput,
  secretKey: string | undefined,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const endpointId = uuidv7();
  const secret = generateWebhookSecret();
  const storedSecret = sealWebhookSecret(secret, endpointId, webhookSecretKey(secretKey));
  const endpoint = await insertWebhookEndpoint(db, { endpointId, clientId, url: input.url, statuses: input.statuses, storedSecret });
  return { endpoint, secret };
}
