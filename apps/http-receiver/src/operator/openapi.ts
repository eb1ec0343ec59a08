import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { SCOPES, backupJobDefinitionSchema, backupRequestInputSchema, webhookEndpointInputSchema, type Scope } from '@linebacker/domain';
import { z } from 'zod';
import {
  backupJobIdParamSchema,
  backupJobListQuerySchema,
  backupJobPageSchema,
  backupJobSchema,
  backupRequestIdParamSchema,
  backupRequestListQuerySchema,
  backupRequestPageSchema,
  backupRequestSchema,
  backupRequestWithHistorySchema,
  createdWebhookEndpointSchema,
  deliveryListQuerySchema,
  deliveryPageSchema,
  idempotencyKeyHeaderSchema,
  problemSchema,
  sessionSchema,
  signInSchema,
  traceHeadersSchema,
  webhookEndpointIdParamSchema,
  webhookEndpointListQuerySchema,
  webhookEndpointPageSchema,
  webhookEndpointSchema,
} from '../api/api-schemas.js';
import { SESSION_COOKIE } from '../auth/browser-session.js';
import { sessionAuthenticates } from '../auth/auth-middleware.js';
import {
  healthReportSchema,
  healthStartingSchema,
  livenessSchema,
  readinessSchema,
} from '../health/health-schemas.js';
import { BODY_LIMIT_BYTES } from '../api/json-body.js';
import { pipelineStatisticsSchema } from '../statistics/statistics-schemas.js';
import { STATISTICS_PATH } from '../statistics/statistics-routes.js';
import { EVENTS_PATH } from '../events/events-route.js';
import { eventsQuerySchema, lastEventIdHeaderSchema } from '../events/events-schemas.js';

/*
 * GET /openapi.json, the OpenAPI 3.1 description of the http-receiver, generated from the zod
 * schemas the routes use (api-schemas.ts, health/health-schemas.ts, libs/domain's body schemas) by
 * @asteasolutions/zod-to-openapi. What is written here is only what zod does not know: the paths,
 * who may call them, and the words. test/integration/openapi.test.ts keeps it in step with the
 * real app (every route documented, every documented operation served, real answers valid).
 */

const registry = new OpenAPIRegistry();

// ---- schemas -------------------------------------------------------------------------------------
// Schemas with an `id` in their zod metadata become components (#/components/schemas/<id>); the
// body schemas of libs/domain are named here.

const BackupRequestInput = backupRequestInputSchema().meta({ id: 'BackupRequestInput' });
const BackupJobDefinition = backupJobDefinitionSchema.meta({ id: 'BackupJobDefinition' });
const WebhookEndpointInput = webhookEndpointInputSchema.meta({ id: 'WebhookEndpointInput' });

// ---- shared headers and responses -------------------------------------------------------

/** A response header, described. */
const header = (description: string, schema: z.ZodType = z.string()) => schema.meta({ description });
const traceHeader = { 'X-Request-Id': header('the trace id of this request') };
const retryAfter = { 'Retry-After': header('seconds to wait before retrying', z.int().min(0)) };
const idempotentReplayed = { 'Idempotent-Replayed': header('`true` when answered from a stored Idempotency-Key response', z.literal('true').optional()) };
const setSessionCookie = { 'Set-Cookie': header(`sets or clears the \`${SESSION_COOKIE}\` cookie`) };
const location = (description: string) => ({ Location: header(description, z.string().meta({ format: 'uri-reference' })) });

/** A JSON response; every response carries the trace id in X-Request-Id. */
const json = (description: string, schema: z.ZodType, headers: z.ZodRawShape = {}): ResponseConfig => ({
  description,
  headers: z.object({ ...traceHeader, ...headers }),
  content: { 'application/json': { schema } },
});
const problem = (description: string, headers: z.ZodRawShape = {}): ResponseConfig => ({
  description,
  headers: z.object({ ...traceHeader, ...headers }),
  content: { 'application/problem+json': { schema: problemSchema } },
});
const html = (description: string): ResponseConfig => ({ description, content: { 'text/html': { schema: z.string() } } });

const PROBLEMS = {
  BadRequest: problem('invalid body, field, query parameter or header: `errors` names every one'),
  Unauthorized: problem('no token, or not a valid one', { 'WWW-Authenticate': header('Bearer realm="linebacker"') }),
  Forbidden: problem('the token lacks the scope this operation needs'),
  NotFound: problem('no such resource (or not yours)'),
  PayloadTooLarge: problem(`body over ${BODY_LIMIT_BYTES} bytes`),
  UnsupportedMediaType: problem('the body is not declared JSON (application/json or +json) or not UTF-8'),
  TooManyRequests: problem('over the per-client rate limit', retryAfter),
  ServiceUnavailable: problem('Postgres (or the identity provider) is unavailable', retryAfter),
};
const shared = (name: keyof typeof PROBLEMS): ResponseConfig => PROBLEMS[name];

const jsonBody = (schema: z.ZodType) => ({
  required: true,
  description: `JSON, at most ${BODY_LIMIT_BYTES} bytes`,
  content: { 'application/json': { schema } },
});

// ---- security -------------------------------------------------------------------------------------

registry.registerComponent('securitySchemes', 'bearer', {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'API key (lbk_…) or JWT',
  description: `An API key issued by linebacker, or a JWT whose \`sub\` is the client id. Scopes: ${SCOPES.map((s) => `\`${s}\``).join(', ')}.`,
});
registry.registerComponent('securitySchemes', 'session', {
  type: 'apiKey',
  in: 'cookie',
  name: SESSION_COOKIE,
  description:
    'An opaque session id (lbs_…) a browser gets from POST /admin/session, stored hashed, ending after ' +
    'LINEBACKER_SESSION_IDLE_MS unused or LINEBACKER_SESSION_MAX_MS (`__Host-lb_session` over HTTPS). Used only when there ' +
    'is no Authorization header, and only for the operator pages and the reads they call (never an API write); ' +
    'its scopes are `ops:read`, plus `jobs:admin` when the key had it. A queue UI action or sign-out with it needs an ' +
    'Origin header equal to this site\'s origin.',
});

/** The bearer token, or (for the operator pages' reads) the browser session cookie too. */
const credentials = (scopes: string[], sessionToo = true): Record<string, string[]>[] =>
  sessionToo ? [{ bearer: scopes }, { session: scopes }] : [{ bearer: scopes }];

/** An operation; `headers`: request headers it reads besides the trace headers every path accepts. */
type Operation = Omit<RouteConfig, 'method' | 'path'> & { headers?: typeof idempotencyKeyHeaderSchema | typeof lastEventIdHeaderSchema };

/** Every path accepts the trace headers. */
function route(method: RouteConfig['method'], path: string, { headers, ...operation }: Operation): void {
  registry.registerPath({
    ...operation,
    method,
    path,
    request: { ...operation.request, headers: headers ? traceHeadersSchema.extend(headers.shape) : traceHeadersSchema },
  });
}

/** An operation for anyone: the probes and the browser sign-in. */
const open = (method: RouteConfig['method'], path: string, operation: Operation) => route(method, path, { ...operation, security: [] });

/**
 * An operation behind a token. `anyOf` lists the scopes of which the caller needs one; they appear
 * in `security` (as roles) and in the description. 401, 429 and 503 can happen on every such
 * operation (authentication reads Postgres), 403 when a scope is needed.
 */
function authenticated(method: RouteConfig['method'], path: string, anyOf: Scope[], operation: Operation): void {
  const scopes = anyOf.map((scope) => `\`${scope}\``).join(' or ');
  const sessionToo = sessionAuthenticates(method, path);
  route(method, path, {
    ...operation,
    description: `${operation.description}\n\n**Scope:** ${anyOf.length > 0 ? scopes : 'none (any valid token)'}.`,
    security: anyOf.length > 0 ? anyOf.flatMap((scope) => credentials([scope], sessionToo)) : credentials([], sessionToo),
    responses: {
      ...operation.responses,
      '401': shared('Unauthorized'),
      ...(anyOf.length > 0 ? { '403': shared('Forbidden') } : {}),
      '429': shared('TooManyRequests'),
      '503': operation.responses['503'] ?? shared('ServiceUnavailable'),
    },
  });
}

// ---- the paths ------------------------------------------------------------------------------------

const requests = '/api/v1/backup-requests';
const jobs = '/api/v1/backup-jobs';

authenticated('post', requests, ['requests:write'], {
  operationId: 'createBackupRequest',
  summary: 'Ask for a backup',
  description:
    'Answers 202 once the request is committed (it then moves through the pipeline on its own), or 200 with the ' +
    'existing request when an equal one (same client, job, date and location) is not NotAllowed or Failed. ' +
    'While the pipeline is far behind (too many jobs waiting, or the oldest waiting too long: `/healthz` ' +
    '`admission`), new requests are refused with 503 `urn:linebacker:problem:pipeline-overloaded` and ' +
    '`Retry-After`, before the body is read; reads stay open.',
  tags: ['requests'],
  headers: idempotencyKeyHeaderSchema,
  request: { body: jsonBody(BackupRequestInput) },
  responses: {
    '202': json('accepted: committed with status Received', backupRequestSchema, {
      ...location('the request, /api/v1/backup-requests/{backupRequestId}'),
      ...idempotentReplayed,
    }),
    '200': json('an equal live request already exists: that request', backupRequestSchema, {
      ...location('the existing request'),
      ...idempotentReplayed,
    }),
    '400': shared('BadRequest'),
    '413': shared('PayloadTooLarge'),
    '415': shared('UnsupportedMediaType'),
    '422': problem('the Idempotency-Key was already used with a different body'),
    '503': problem(
      'Postgres or the identity provider is unavailable (`database-unavailable`, `identity-provider-unavailable`), ' +
        'or the pipeline is overloaded (`pipeline-overloaded`: the detail says how far behind it is); retry after ' +
        '`Retry-After` seconds',
      retryAfter,
    ),
  },
});

authenticated('get', requests, ['requests:read', 'ops:read'], {
  operationId: 'listBackupRequests',
  summary: "List the caller's requests",
  description:
    "The caller's own requests (scope `requests:read`), or with `all=true` every client's (scope `ops:read`), " +
    'newest first, cursor-paginated.',
  tags: ['requests'],
  request: { query: backupRequestListQuerySchema },
  responses: { '200': json('one page', backupRequestPageSchema), '400': shared('BadRequest') },
});

authenticated('get', `${requests}/{backupRequestId}`, ['requests:read', 'jobs:admin', 'ops:read'], {
  operationId: 'getBackupRequest',
  summary: 'One request with its status history',
  description: "404 when unknown or another client's (unless the caller has `jobs:admin` or `ops:read`, which read every client's).",
  tags: ['requests'],
  request: { params: backupRequestIdParamSchema },
  responses: { '200': json('the request and its history', backupRequestWithHistorySchema), '404': shared('NotFound') },
});

authenticated('get', EVENTS_PATH, ['requests:read', 'ops:read'], {
  operationId: 'streamEvents',
  summary: 'Follow status events (Server-Sent Events)',
  description:
    "The caller's status events (every client's with `ops:read`) as `text/event-stream` (SPEC §8): each event is " +
    '`id: <eventId>`, `event: status-changed` and `data: <the event JSON>` — `{ eventId, type, backupRequestId, ' +
    'requesterId, backupJobId, status, previousStatus, reason, at, traceId }`, as webhooks deliver it. With ' +
    '`Last-Event-ID` (or `?lastEventId=`), first every later event the caller may see, from the outbox (no gap, no ' +
    'repeat; `0` = from the oldest kept), then live ones; without it, live events only. The stream starts with ' +
    '`retry:` and an `id:` line of where it starts (so a reconnect misses nothing), and sends a `: heartbeat` comment ' +
    'every LINEBACKER_EVENTS_HEARTBEAT_MS (15 s), whose `id:` line, when present, moves Last-Event-ID on. A client ' +
    'that does not read is disconnected (it can resume); so is every client when the receiver stops. Errors before ' +
    'the stream starts are problem+json. `curl -N` follows it.',
  tags: ['requests'],
  headers: lastEventIdHeaderSchema,
  request: { query: eventsQuerySchema },
  responses: {
    '200': {
      description: 'the stream, open until the client or the receiver ends it',
      headers: z.object(traceHeader),
      content: { 'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events (WHATWG HTML §9.2)' }) } },
    },
    '400': shared('BadRequest'),
    '503': problem('Postgres is unavailable, or this receiver is shutting down: connect again after `Retry-After`', retryAfter),
  },
});

authenticated('get', jobs, ['jobs:admin'], {
  operationId: 'listBackupJobs',
  summary: 'List backup jobs',
  description: 'The catalogue in backupJobId order, cursor-paginated.',
  tags: ['jobs'],
  request: { query: backupJobListQuerySchema },
  responses: { '200': json('one page', backupJobPageSchema), '400': shared('BadRequest') },
});

authenticated('put', `${jobs}/{backupJobId}`, ['jobs:admin'], {
  operationId: 'putBackupJob',
  summary: 'Create or replace a backup job',
  description: '201 when created, 200 when replaced.',
  tags: ['jobs'],
  request: { params: backupJobIdParamSchema, body: jsonBody(BackupJobDefinition) },
  responses: {
    '201': json('created', backupJobSchema, location('the job')),
    '200': json('replaced', backupJobSchema, location('the job')),
    '400': shared('BadRequest'),
    '413': shared('PayloadTooLarge'),
    '415': shared('UnsupportedMediaType'),
  },
});

authenticated('get', `${jobs}/{backupJobId}`, ['jobs:admin'], {
  operationId: 'getBackupJob',
  summary: 'One backup job',
  description: 'The job as stored.',
  tags: ['jobs'],
  request: { params: backupJobIdParamSchema },
  responses: { '200': json('the job', backupJobSchema), '404': shared('NotFound') },
});

const webhooks = '/api/v1/webhook-endpoints';
const WEBHOOKS_INTRO =
  'Each status change of a request of the endpoint\'s client (of a status it asked for, made after it was created) is POSTed to the url as the ' +
  'StatusEvent JSON, with the Standard Webhooks headers `webhook-id` (the eventId, the same on every retry), `webhook-timestamp` (Unix seconds) ' +
  'and `webhook-signature` (`v1,` + base64 of HMAC-SHA256 with the secret\'s bytes over `{id}.{timestamp}.{body}`). A 2xx answer within ' +
  'LINEBACKER_WEBHOOK_TIMEOUT_MS delivers it; anything else is retried with backoff for LINEBACKER_WEBHOOK_MAX_AGE_MS. At least once: dedupe on ' +
  '`webhook-id`; order per request is not guaranteed across retries (use `at`).';

authenticated('post', webhooks, ['requests:read'], {
  operationId: 'createWebhookEndpoint',
  summary: 'Register a webhook endpoint',
  description:
    `${WEBHOOKS_INTRO}\n\nThe answer carries the endpoint's \`secret\`, shown only this once. The url must be http or https; loopback, private, ` +
    'link-local and unique-local addresses (literal, or any address its name resolves to now) are refused unless the server sets ' +
    'LINEBACKER_WEBHOOK_ALLOW_PRIVATE=true, and every delivery checks the address it connects to again.',
  tags: ['webhooks'],
  request: { body: jsonBody(WebhookEndpointInput) },
  responses: {
    '201': json('created: the endpoint with its secret', createdWebhookEndpointSchema, location('the endpoint, /api/v1/webhook-endpoints/{endpointId}')),
    '400': shared('BadRequest'),
    '413': shared('PayloadTooLarge'),
    '415': shared('UnsupportedMediaType'),
  },
});

authenticated('get', webhooks, ['requests:read', 'ops:read'], {
  operationId: 'listWebhookEndpoints',
  summary: "List the caller's webhook endpoints",
  description: "The caller's endpoints (scope `requests:read`), or with `all=true` every client's (scope `ops:read`), newest first, cursor-paginated. Never a secret.",
  tags: ['webhooks'],
  request: { query: webhookEndpointListQuerySchema },
  responses: { '200': json('one page', webhookEndpointPageSchema), '400': shared('BadRequest') },
});

authenticated('get', `${webhooks}/{endpointId}`, ['requests:read', 'jobs:admin', 'ops:read'], {
  operationId: 'getWebhookEndpoint',
  summary: 'One webhook endpoint',
  description: "404 when unknown or another client's (unless the caller has `jobs:admin` or `ops:read`). Never the secret.",
  tags: ['webhooks'],
  request: { params: webhookEndpointIdParamSchema },
  responses: { '200': json('the endpoint', webhookEndpointSchema), '404': shared('NotFound') },
});

authenticated('delete', `${webhooks}/{endpointId}`, ['requests:read', 'jobs:admin'], {
  operationId: 'deleteWebhookEndpoint',
  summary: 'Remove a webhook endpoint',
  description: "Deletes the endpoint and its deliveries; nothing more is sent to it. 404 when unknown or another client's (unless the caller has `jobs:admin`).",
  tags: ['webhooks'],
  request: { params: webhookEndpointIdParamSchema },
  responses: { '204': { description: 'deleted', headers: z.object(traceHeader) }, '404': shared('NotFound') },
});

authenticated('get', `${webhooks}/{endpointId}/deliveries`, ['requests:read', 'jobs:admin', 'ops:read'], {
  operationId: 'listWebhookDeliveries',
  summary: "An endpoint's deliveries",
  description:
    'Newest event first: the event, attempts, the last answer\'s status code or error, the next attempt, delivered or failed. Kept ' +
    'LINEBACKER_DELIVERY_RETENTION_S after they end. 404 as for the endpoint.',
  tags: ['webhooks'],
  request: { params: webhookEndpointIdParamSchema, query: deliveryListQuerySchema },
  responses: { '200': json('one page', deliveryPageSchema), '400': shared('BadRequest'), '404': shared('NotFound') },
});

open('get', '/livez', {
  operationId: 'livez',
  summary: 'livenessSchema probe',
  description: 'No token. 200 while the process runs and is not shutting down.',
  tags: ['operations'],
  responses: { '200': json('alive', livenessSchema), '503': json('shutting down', livenessSchema) },
});

open('get', '/readyz', {
  operationId: 'readyz',
  summary: 'readinessSchema probe',
  description: 'No token. 200 when Postgres and Redis answer, else 503 naming which one is down.',
  tags: ['operations'],
  responses: { '200': json('ready', readinessSchema), '503': json('not ready', readinessSchema) },
});

authenticated('get', '/healthz', ['ops:read'], {
  operationId: 'healthz',
  summary: 'Health for dashboards',
  description:
    'Dependencies with latency, every live app instance of every host (the instance registry) and a summary per host, ' +
    'the leader, the PM2 apps of the answering host, BullMQ queue counts, request counts and whether new requests are ' +
    'admitted, from a snapshot at most about a second old, so polling costs Redis and Postgres nothing (and the local PM2 ' +
    'at most one list per refresh period).',
  tags: ['operations'],
  responses: {
    '200': json('status ok or degraded', healthReportSchema),
    '503': json('status down (Postgres unreachable), or no snapshot yet', z.union([healthReportSchema, healthStartingSchema])),
  },
});

authenticated('get', '/metrics', ['ops:read'], {
  operationId: 'metrics',
  summary: 'Prometheus metrics',
  description: 'The /healthz figures, HTTP request rate and latency, runtime metrics and pipeline counters.',
  tags: ['operations'],
  responses: {
    '200': {
      description: 'Prometheus text exposition format (text/plain; version=0.0.4)',
      headers: z.object(traceHeader),
      content: { 'text/plain': { schema: z.string() } },
    },
  },
});

authenticated('get', STATISTICS_PATH, ['ops:read'], {
  operationId: 'pipelineStatistics',
  summary: 'The last hour per minute, for charts',
  description:
    'What the operator dashboard charts: for each of the last 60 minutes the requests accepted, the outcomes ' +
    '(Succeeded, Failed, NotAllowed) and the p50/p95 duration of each stage, from the status history; and the queue ' +
    'depths the health leader samples every LINEBACKER_QUEUE_DEPTH_SAMPLE_MS. Computed at most every ' +
    'LINEBACKER_STATISTICS_REFRESH_MS and shared, so many dashboards cost no more than one.',
  tags: ['operations'],
  responses: { '200': json('the last hour', pipelineStatisticsSchema) },
});

authenticated('get', '/openapi.json', [], {
  operationId: 'openapi',
  summary: 'This document',
  description: 'The OpenAPI 3.1 description of this API.',
  tags: ['operations'],
  responses: { '200': json('the document', z.object({}).loose()) },
});

// The operator pages for browsers (browser-session.ts, dashboard-routes.ts, queue-board.ts). Their
// files and bull-board's own pages and API below these paths are not described here.
authenticated('get', '/dashboard', ['ops:read'], {
  operationId: 'dashboard',
  summary: 'Request dashboard (HTML)',
  description:
    "The /healthz summary, charts of the last hour (GET /api/v1/ops/statistics), the latest requests kept up to date from " +
    "the event stream (GET /api/v1/events) and one request's timeline. A browser without a session is sent to the sign-in page.",
  tags: ['ui'],
  responses: { '200': html('the page') },
});

authenticated('get', '/admin/queues', ['ops:read'], {
  operationId: 'queueUi',
  summary: 'Queue UI (HTML, bull-board)',
  description:
    'bull-board over the BullMQ queues; read-only unless the caller also has `jobs:admin`. `status-received` is ' +
    'read-only for everyone: any write naming it is 403.',
  tags: ['ui'],
  responses: { '200': html('the page') },
});

open('get', '/admin/session', {
  operationId: 'signInPage',
  summary: 'Sign-in page (HTML)',
  description: 'No token. The form that starts a browser session.',
  tags: ['ui'],
  request: { query: z.object({ next: z.string().optional().meta({ description: 'the operator page to go to after signing in' }) }) },
  responses: { '200': html('the page') },
});

open('post', '/admin/session', {
  operationId: 'signIn',
  summary: 'Start a browser session',
  description:
    'No token: the API key comes in the body; only a key with `ops:read` may sign in. Starts a session (an opaque ' +
    `random id, never the key) in an HttpOnly, SameSite=Strict cookie \`${SESSION_COOKIE}\` (\`__Host-${SESSION_COOKIE}\` ` +
    'with Secure over HTTPS). A browser form post (Accept: text/html) is redirected to `next` (or back to the form ' +
    'with an error); other callers get JSON. Attempts and failed keys are limited per source address (429).',
  tags: ['ui'],
  request: {
    body: {
      required: true,
      description: 'form-urlencoded or JSON',
      content: { 'application/x-www-form-urlencoded': { schema: signInSchema }, 'application/json': { schema: signInSchema } },
    },
  },
  responses: {
    '200': json('signed in', sessionSchema, setSessionCookie),
    '303': { description: 'signed in (a browser form post): on to `next`', headers: z.object(location('the operator page')) },
    '400': shared('BadRequest'),
    '401': problem('the API key is not valid'),
    '403': problem('the key does not have `ops:read`, or a request from a page of another site'),
    '415': shared('UnsupportedMediaType'),
    '429': problem('too many sign-in attempts or failed authentications from this address', retryAfter),
    '503': shared('ServiceUnavailable'),
  },
});

open('post', '/admin/session/logout', {
  operationId: 'signOut',
  summary: 'End the browser session',
  description:
    'No token. Ends the session on the server (the same cookie is refused afterwards) and clears the cookie; a ' +
    'browser is sent back to the sign-in page. With a session cookie the Origin header must be this site\'s origin.',
  tags: ['ui'],
  responses: {
    '204': { description: 'signed out', headers: z.object(setSessionCookie) },
    '303': { description: 'signed out (a browser): to the sign-in page', headers: z.object(location('/admin/session')) },
    '403': problem('with a session cookie: no Origin, or a page of another site'),
    '503': shared('ServiceUnavailable'),
  },
});

// ---- the document -----------------------------------------------------------------------------------

export const openApiDocument = new OpenApiGeneratorV31(registry.definitions).generateDocument({
  openapi: '3.1.0',
  info: {
    title: 'linebacker http-receiver',
    version: '1.0.0',
    description: [
      'Backup clients POST backup requests; linebacker answers 202 once the request is committed, checks it against the',
      'backup job catalogue, hands it to the backup interface and records the outcome.',
      '',
      'Every path except /livez, /readyz and the browser sign-in (/admin/session) needs `Authorization: Bearer <token>`:',
      'an API key issued by linebacker (`npm run cli -- clients create`) or, when configured, a JWT from the identity',
      'provider; browsers on the operator pages send a session cookie instead (POST /admin/session). Errors are RFC 9457',
      '`application/problem+json`. Failed authentications are limited per source address (429 before any lookup).',
      'Every response carries the trace id in `X-Request-Id`.',
    ].join('\n'),
  },
  servers: [{ url: '/', description: 'this receiver' }],
  security: credentials([]),
  tags: [
    { name: 'requests', description: 'backup requests (SPEC §5.1)' },
    { name: 'jobs', description: 'the backup job catalogue (SPEC §5.3)' },
    { name: 'webhooks', description: 'webhook endpoints and their deliveries (SPEC §8)' },
    { name: 'operations', description: 'probes, health, metrics, this document (SPEC §5.4)' },
    { name: 'ui', description: 'pages for people, with a browser session' },
  ],
});

/** GET /openapi.json: behind a token like every path but the probes, no scope needed. */
export function openApiRoutes(): Router {
  const router = Router();
  const body = JSON.stringify(openApiDocument);
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body);
  });
  return router;
}
