import { z } from 'zod';
import { validateWith, type Validation } from '../field-error.js';
import { REQUEST_STATUSES, type RequestStatus } from '../request-status.js';
import { parseWebhookUrl, WEBHOOK_URL_MAX_LENGTH } from './webhook-url.js';

export const webhookEndpointInputSchema = z
  .object(
    {
      url: z
        .string({ error: 'must be a string' })
        .superRefine((text, ctx) => {
          const parsed = parseWebhookUrl(text);
          if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
        })
        .meta({
          description: `where deliveries are POSTed: an http or https url (at most ${WEBHOOK_URL_MAX_LENGTH} characters, no user name or password); loopback, private and link-local addresses are refused unless the server allows them`,
          examples: ['https://hooks.example.com/linebacker'],
        }),
      statuses: z
        .array(z.enum(REQUEST_STATUSES, { error: `must be one of ${REQUEST_STATUSES.join(', ')}` }), { error: 'must be a list of statuses' })
        .min(1, 'must name at least one status (leave it out for all)')
        .optional()
        .meta({ description: 'only events whose new status is one of these (default: every status)' }),
    },
    { error: 'the body must be a JSON object' },
  )
  .meta({ description: 'The body of POST /api/v1/webhook-endpoints. Unknown fields are ignored.' });

export interface WebhookEndpointInput {
  url: string;
  /** undefined: every status. */
  statuses: RequestStatus[] | undefined;
}

/** Validates the body of `POST /webhook-endpoints` (the address of the url is checked apart: it may need DNS). */
export function validateWebhookEndpointInput(body: unknown): Validation<WebhookEndpointInput> {
  const result = validateWith(webhookEndpointInputSchema, body);
  if (!result.ok) return result;
  const statuses = result.value.statuses && REQUEST_STATUSES.filter((status) => result.value.statuses!.includes(status));
  return { ok: true, value: { url: result.value.url, statuses } };
}
