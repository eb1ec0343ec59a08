import { Router } from 'express';
import {
  BACKUP_JOB_ID_PATTERN,
  BACKUP_PROVIDER_CODES,
  LEGACY_API_VERSION,
  REQUEST_STATUSES,
  SCOPES,
  type Scope,
} from '@linebacker/domain';
import { SESSION_COOKIE } from './browser-session.js';
import { BODY_LIMIT_BYTES } from './json-body.js';

/*
 * The OpenAPI 3.1 description of the http-receiver, served at GET /openapi.json. It is written by
 * hand, next to the routes, from the same domain constants the validation uses (job id pattern,
 * statuses, provider codes, scopes). Two tests keep it honest:
 *   - openapi.test.ts (unit): a valid OpenAPI 3.1 document; every schema compiles as strict JSON
 *     Schema 2020-12; the request body schemas accept and reject what libs/domain does;
 *   - test/integration/openapi.test.ts: every route of the real Express app is documented and
 *     every documented operation exists; real responses match their documented schemas.
 */

// ---- the subset of OpenAPI 3.1 / JSON Schema 2020-12 this document uses ----------------------

type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null';

export interface JsonSchema {
  $ref?: string;
  type?: JsonType | JsonType[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  enum?: readonly (string | number | boolean | null)[];
  const?: string | number | boolean | null;
  default?: unknown;
  description?: string;
  examples?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

interface Ref {
  $ref: string;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  description: string;
  required?: boolean;
  schema: JsonSchema;
  /** Path parameters carry an example: the integration test probes each operation with it. */
  example?: string;
}

interface Header {
  description: string;
  schema: JsonSchema;
}

interface Response {
  description: string;
  headers?: Record<string, Header | Ref>;
  content?: Record<string, { schema: JsonSchema }>;
}

export interface Operation {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  /** `[]`: no token. Otherwise alternatives, each naming the scope (a role, OpenAPI 3.1 §4.8.30) it needs. */
  security?: Record<string, string[]>[];
  parameters?: (Parameter | Ref)[];
  requestBody?: { required: boolean; description: string; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, Response | Ref>;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

type PathItem = { parameters?: (Parameter | Ref)[] } & Partial<Record<HttpMethod, Operation>>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string; license?: { name: string; identifier: string } };
  servers: { url: string; description: string }[];
  security: Record<string, string[]>[];
  tags: { name: string; description: string }[];
  paths: Record<string, PathItem>;
  components: {
    securitySchemes: Record<
      string,
      | { type: 'http'; scheme: 'bearer'; bearerFormat: string; description: string }
      | { type: 'apiKey'; in: 'cookie'; name: string; description: string }
    >;
    parameters: Record<string, Parameter>;
    headers: Record<string, Header>;
    responses: Record<string, Response>;
    schemas: Record<string, JsonSchema>;
  };
}

// ---- building blocks --------------------------------------------------------------------------

const ref = (kind: 'schemas' | 'responses' | 'parameters' | 'headers', name: string): Ref => ({ $ref: `#/components/${kind}/${name}` });
const schema = (name: string): JsonSchema => ref('schemas', name);
const nullable = (type: JsonType, extra: JsonSchema = {}): JsonSchema => ({ type: [type, 'null'], ...extra });

// the same rule as libs/domain: no control characters
const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001f\\u007f-\\u009f]*$';
const BACKUP_JOB_ID: JsonSchema = {
  type: 'string',
  pattern: BACKUP_JOB_ID_PATTERN.source,
  description: '1–50 characters of A–Z, a–z, 0–9, ".", "_" or "-"',
  examples: ['nightly-db'],
};
const TIMESTAMP: JsonSchema = { type: 'string', format: 'date-time', description: 'UTC, ISO 8601' };

const json = (body: JsonSchema) => ({ 'application/json': { schema: body } });
const problemContent = { 'application/problem+json': { schema: schema('Problem') } };

/** A response; every response carries the trace id in X-Request-Id. */
function response(description: string, body?: JsonSchema, headers: Record<string, Header | Ref> = {}): Response {
  return {
    description,
    headers: { 'X-Request-Id': ref('headers', 'XRequestId'), ...headers },
    ...(body ? { content: json(body) } : {}),
  };
}

/** Either credential: the bearer token, or the browser session cookie holding it. */
const credentials = (scopes: string[]): Record<string, string[]>[] => [{ bearer: scopes }, { session: scopes }];

/**
 * An operation behind a token. `anyOf` lists the scopes of which the caller needs one; they appear
 * in `security` (as roles) and in the description. 401, 429 and 503 can happen on every such
 * operation (authentication reads Postgres), 403 when a scope is needed.
 */
function authenticated(anyOf: Scope[], operation: Operation): Operation {
  const scopes = anyOf.map((scope) => `\`${scope}\``).join(' or ');
  return {
    ...operation,
    description: `${operation.description}\n\n**Scope:** ${anyOf.length > 0 ? scopes : 'none (any valid token)'}.`,
    security: anyOf.length > 0 ? anyOf.flatMap((scope) => credentials([scope])) : credentials([]),
    responses: {
      ...operation.responses,
      '401': ref('responses', 'Unauthorized'),
      ...(anyOf.length > 0 ? { '403': ref('responses', 'Forbidden') } : {}),
      '429': ref('responses', 'TooManyRequests'),
      '503': operation.responses['503'] ?? ref('responses', 'ServiceUnavailable'),
    },
  };
}

/** A path item; every path accepts the trace headers. */
const path = (item: PathItem): PathItem => ({
  ...item,
  parameters: [ref('parameters', 'traceparent'), ref('parameters', 'XRequestIdIn'), ...(item.parameters ?? [])],
});

const problem = (description: string, headers: Record<string, Header | Ref> = {}): Response => ({
  description,
  headers: { 'X-Request-Id': ref('headers', 'XRequestId'), ...headers },
  content: problemContent,
});

// ---- schemas ----------------------------------------------------------------------------------

/** A request as the API shows it (representation.ts). */
const BACKUP_REQUEST = {
  type: 'object',
  description: 'A backup request (SPEC §2.1). Timestamps are UTC ISO 8601; fields not set yet are null.',
  required: [
    'backupRequestId',
    'backupJobId',
    'dataDate',
    'backupDataLocation',
    'requesterId',
    'status',
    'statusReason',
    'receivedAt',
    'checkedAt',
    'sentAt',
    'repliedAt',
    'backupProviderCode',
    'storagePathName',
    'traceId',
  ],
  properties: {
    backupRequestId: { type: 'string', format: 'uuid', description: 'generated by linebacker (UUID v7)' },
    backupJobId: BACKUP_JOB_ID,
    dataDate: { type: 'string', format: 'date' },
    backupDataLocation: { type: 'string', minLength: 1, maxLength: 250 },
    requesterId: { type: 'string', description: 'the id of the client that made the request' },
    status: schema('RequestStatus'),
    statusReason: nullable('string', { maxLength: 500, description: 'why NotAllowed or Failed, or the interface message' }),
    receivedAt: TIMESTAMP,
    checkedAt: nullable('string', { format: 'date-time', description: 'when check-allowed decided' }),
    sentAt: nullable('string', { format: 'date-time', description: 'when it was sent to the backup interface' }),
    repliedAt: nullable('string', { format: 'date-time', description: 'when the interface reply was applied' }),
    backupProviderCode: {
      type: ['string', 'null'],
      enum: [...BACKUP_PROVIDER_CODES, null],
      description: 'copied from the backup job when Allowed',
    },
    storagePathName: nullable('string', { description: 'copied from the backup job when Allowed' }),
    traceId: { type: 'string', description: 'the trace id of the POST (also in X-Request-Id); travels through the pipeline' },
  },
} satisfies JsonSchema & { required: string[]; properties: Record<string, JsonSchema> };

const schemas: Record<string, JsonSchema> = {
  BackupRequestInput: {
    type: 'object',
    description: 'The body of POST /api/v1/backup-requests. Unknown fields are ignored (`requesterId` is never taken from the body).',
    required: ['backupJobId', 'dataDate', 'backupDataLocation'],
    properties: {
      backupJobId: BACKUP_JOB_ID,
      dataDate: {
        type: 'string',
        format: 'date',
        description: 'YYYY-MM-DD, a real calendar date, not more than 1 day in the future (UTC)',
        examples: ['2026-11-23'],
      },
      backupDataLocation: {
        type: 'string',
        minLength: 1,
        maxLength: 250,
        pattern: NO_CONTROL_CHARACTERS,
        description: 'where the prepared data is; 1–250 characters, no control characters',
        examples: ['/data/prepared/nightly'],
      },
      apiVersion: {
        type: 'string',
        enum: [LEGACY_API_VERSION],
        description: 'accepted for older clients; any other value is 400',
      },
    },
  },
  BackupRequest: BACKUP_REQUEST,
  BackupRequestWithHistory: {
    ...BACKUP_REQUEST,
    description: 'A backup request with its status history.',
    required: [...BACKUP_REQUEST.required, 'history'],
    properties: {
      ...BACKUP_REQUEST.properties,
      history: { type: 'array', items: schema('StatusHistoryEntry'), description: 'oldest first' },
    },
  },
  StatusHistoryEntry: {
    type: 'object',
    required: ['status', 'at', 'reason'],
    properties: { status: schema('RequestStatus'), at: TIMESTAMP, reason: nullable('string') },
  },
  RequestStatus: {
    type: 'string',
    enum: REQUEST_STATUSES,
    description: 'Received → Allowed | NotAllowed; Allowed → Sent; Sent → Succeeded | Failed (SPEC §2.2)',
  },
  BackupRequestPage: {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', items: schema('BackupRequest') },
      nextCursor: nullable('string', { description: 'pass back as `cursor` for the next page; null on the last page' }),
    },
  },
  BackupJobDefinition: {
    type: 'object',
    description: 'The body of PUT /api/v1/backup-jobs/{backupJobId}. Unknown fields are ignored.',
    required: ['storagePathName', 'backupProviderCode', 'daysToKeep'],
    properties: {
      storagePathName: { type: 'string', minLength: 1, maxLength: 250, examples: ['vault/db'] },
      backupProviderCode: schema('BackupProviderCode'),
      daysToKeep: { type: 'integer', minimum: 1, maximum: 36500 },
      isActive: { type: 'boolean', default: true, description: 'requests for an inactive job are NotAllowed' },
      holdFlag: { type: 'boolean', default: false },
    },
  },
  BackupJob: {
    type: 'object',
    description: 'A backup job of the catalogue (SPEC §3).',
    required: ['backupJobId', 'storagePathName', 'backupProviderCode', 'daysToKeep', 'isActive', 'holdFlag'],
    properties: {
      backupJobId: BACKUP_JOB_ID,
      storagePathName: { type: 'string', minLength: 1, maxLength: 250 },
      backupProviderCode: schema('BackupProviderCode'),
      daysToKeep: { type: 'integer', minimum: 1, maximum: 36500 },
      isActive: { type: 'boolean' },
      holdFlag: { type: 'boolean' },
    },
  },
  BackupProviderCode: { type: 'string', enum: BACKUP_PROVIDER_CODES },
  BackupJobPage: {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', items: schema('BackupJob'), description: 'in backupJobId order' },
      nextCursor: nullable('string', { description: 'pass back as `cursor` for the next page; null on the last page' }),
    },
  },
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details.',
    required: ['type', 'title', 'status', 'detail', 'instance'],
    properties: {
      type: { type: 'string', format: 'uri', description: 'urn:linebacker:problem:<slug>', examples: ['urn:linebacker:problem:validation-error'] },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      instance: { type: 'string', format: 'uri-reference', description: 'the path and query of the request' },
      errors: {
        type: 'array',
        description: 'validation problems: every invalid field at once',
        items: {
          type: 'object',
          required: ['field', 'message'],
          properties: {
            field: { type: 'string', description: 'the field name (dotted path), "(body)" for the body itself, or a header or query parameter name' },
            message: { type: 'string' },
          },
        },
      },
    },
  },
  SignIn: {
    type: 'object',
    required: ['apiKey'],
    properties: {
      apiKey: { type: 'string', minLength: 1, description: 'an API key' },
      next: { type: 'string', description: 'the operator page to go to after signing in (browsers)' },
    },
  },
  Session: {
    type: 'object',
    required: ['clientId', 'scopes'],
    properties: {
      clientId: { type: 'string' },
      scopes: { type: 'array', items: { type: 'string', enum: SCOPES } },
    },
  },
  Liveness: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['ok', 'shutting down'] } },
  },
  Readiness: {
    type: 'object',
    required: ['status', 'postgres', 'redis'],
    properties: {
      status: { type: 'string', enum: ['ready', 'not ready'] },
      postgres: schema('UpDown'),
      redis: schema('UpDown'),
      shuttingDown: { type: 'boolean', const: true, description: 'present while the process shuts down' },
    },
  },
  UpDown: { type: 'string', enum: ['up', 'down'] },
  HealthSnapshot: {
    type: 'object',
    description: 'What dashboards poll (SPEC §5.4), served from a snapshot refreshed about every second.',
    required: ['status', 'generatedAt', 'ageMs', 'dependencies', 'pm2', 'queues', 'interfaceQueues', 'requests', 'counters', 'admission'],
    properties: {
      status: {
        type: 'string',
        enum: ['ok', 'degraded', 'down'],
        description: 'down: Postgres unreachable; degraded: Redis or the interface queue unreachable, or an app with no instance online',
      },
      generatedAt: TIMESTAMP,
      ageMs: { type: 'number', description: 'how old the snapshot is' },
      dependencies: {
        type: 'object',
        required: ['postgres', 'redis', 'interfaceQueue'],
        properties: {
          postgres: schema('DependencyHealth'),
          redis: schema('DependencyHealth'),
          interfaceQueue: schema('DependencyHealth'),
        },
      },
      pm2: {
        oneOf: [
          {
            type: 'object',
            required: ['available', 'apps'],
            properties: { available: { const: true }, apps: { type: 'array', items: schema('Pm2App') } },
          },
          {
            type: 'object',
            required: ['available', 'reason', 'apps'],
            properties: { available: { const: false }, reason: { type: 'string' }, apps: { type: 'array', maxItems: 0 } },
          },
        ],
      },
      queues: { type: 'object', description: 'by BullMQ queue name', additionalProperties: schema('QueueStatistics') },
      interfaceQueues: {
        type: 'object',
        description: 'by interface queue name (requests, statuses, poison): messages held, invisible ones included; empty while the queue service does not answer',
        additionalProperties: {
          type: 'object',
          required: ['messages'],
          properties: { messages: { type: 'integer', minimum: 0 } },
        },
      },
      requests: {
        oneOf: [schema('RequestStatistics'), { type: 'null' }],
        description: 'null while Postgres does not answer',
      },
      counters: {
        type: 'object',
        description: 'pipeline event totals, e.g. "jobs:check-allowed:done", "replies:poisoned", "sends:held-back"',
        additionalProperties: { type: 'number' },
      },
      admission: {
        type: 'object',
        description: 'whether this receiver takes new backup requests on this snapshot (503 pipeline-overloaded when not)',
        required: ['accepting', 'reason'],
        properties: {
          accepting: { type: 'boolean' },
          reason: nullable('string', { description: 'why not, e.g. "the pipeline is 185 s behind (…)"; null while accepting' }),
        },
      },
    },
  },
  HealthStarting: {
    type: 'object',
    description: 'before the first snapshot is taken',
    required: ['status'],
    properties: { status: { const: 'starting' } },
  },
  DependencyHealth: {
    type: 'object',
    required: ['status', 'latencyMs'],
    properties: {
      status: schema('UpDown'),
      latencyMs: nullable('number', { description: 'null when down' }),
      error: { type: 'string' },
    },
  },
  Pm2App: {
    type: 'object',
    required: ['name', 'instances', 'online', 'restarts', 'uptimeSeconds', 'cpuPercent', 'memoryBytes'],
    properties: {
      name: { type: 'string' },
      instances: { type: 'integer', minimum: 0 },
      online: { type: 'integer', minimum: 0 },
      restarts: { type: 'integer', minimum: 0, description: 'sum over instances' },
      uptimeSeconds: { type: 'integer', minimum: 0, description: 'of the longest-running online instance' },
      cpuPercent: { type: 'number', minimum: 0, description: 'sum over instances' },
      memoryBytes: { type: 'integer', minimum: 0, description: 'sum over instances' },
    },
  },
  QueueStatistics: {
    type: 'object',
    required: ['waiting', 'active', 'delayed', 'failed', 'completed', 'oldestWaitingAgeSeconds'],
    properties: {
      waiting: { type: 'integer', minimum: 0 },
      active: { type: 'integer', minimum: 0 },
      delayed: { type: 'integer', minimum: 0 },
      failed: { type: 'integer', minimum: 0 },
      completed: { type: 'integer', minimum: 0 },
      oldestWaitingAgeSeconds: nullable('integer', { minimum: 0 }),
    },
  },
  RequestStatistics: {
    type: 'object',
    required: ['byStatus', 'oldestNonTerminalAgeSeconds'],
    properties: {
      byStatus: {
        type: 'object',
        required: [...REQUEST_STATUSES],
        properties: Object.fromEntries(REQUEST_STATUSES.map((status) => [status, { type: 'integer', minimum: 0 }])),
      },
      oldestNonTerminalAgeSeconds: nullable('integer', { minimum: 0, description: 'of the oldest Received, Allowed or Sent request' }),
    },
  },
};

// ---- the document -----------------------------------------------------------------------------

const backupRequestId: Parameter = {
  name: 'backupRequestId',
  in: 'path',
  required: true,
  description: 'the request id',
  schema: { type: 'string', format: 'uuid' },
  example: '01936f0e-7d3a-7c4e-9b1a-2f5c6d7e8f90',
};
const backupJobId: Parameter = { name: 'backupJobId', in: 'path', required: true, description: 'the job id', schema: BACKUP_JOB_ID, example: 'nightly-db' };
const cursor: Parameter = { name: 'cursor', in: 'query', description: 'the `nextCursor` of the previous page', schema: { type: 'string' } };
const locationHeader = (description: string): Header => ({ description, schema: { type: 'string', format: 'uri-reference' } });
const html = { 'text/html': { schema: { type: 'string' } as JsonSchema } };

export const openApiDocument: OpenApiDocument = {
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
      'provider; browsers send the key in the session cookie instead. Errors are RFC 9457 `application/problem+json`.',
      'Every response carries the trace id in `X-Request-Id`.',
    ].join('\n'),
  },
  servers: [{ url: '/', description: 'this receiver' }],
  security: credentials([]),
  tags: [
    { name: 'requests', description: 'backup requests (SPEC §5.1)' },
    { name: 'jobs', description: 'the backup job catalogue (SPEC §5.3)' },
    { name: 'operations', description: 'probes, health, metrics, this document (SPEC §5.4)' },
    { name: 'ui', description: 'pages for people, with a browser session' },
  ],
  paths: {
    '/api/v1/backup-requests': path({
      post: authenticated(['requests:write'], {
        operationId: 'createBackupRequest',
        summary: 'Ask for a backup',
        description:
          'Answers 202 once the request is committed (it then moves through the pipeline on its own), or 200 with the ' +
          'existing request when an equal one (same client, job, date and location) is not NotAllowed or Failed. ' +
          'While the pipeline is far behind (too many jobs waiting, or the oldest waiting too long: `/healthz` ' +
          '`admission`), new requests are refused with 503 `urn:linebacker:problem:pipeline-overloaded` and ' +
          '`Retry-After`, before the body is read; reads stay open.',
        tags: ['requests'],
        parameters: [ref('parameters', 'IdempotencyKey')],
        requestBody: { required: true, description: `JSON, at most ${BODY_LIMIT_BYTES} bytes`, content: json(schema('BackupRequestInput')) },
        responses: {
          '202': response('accepted: committed with status Received', schema('BackupRequest'), {
            Location: locationHeader('the request, /api/v1/backup-requests/{backupRequestId}'),
            'Idempotent-Replayed': ref('headers', 'IdempotentReplayed'),
          }),
          '200': response('an equal live request already exists: that request', schema('BackupRequest'), {
            Location: locationHeader('the existing request'),
            'Idempotent-Replayed': ref('headers', 'IdempotentReplayed'),
          }),
          '400': ref('responses', 'BadRequest'),
          '413': ref('responses', 'PayloadTooLarge'),
          '415': ref('responses', 'UnsupportedMediaType'),
          '422': problem('the Idempotency-Key was already used with a different body'),
          '503': problem(
            'Postgres or the identity provider is unavailable (`database-unavailable`, `identity-provider-unavailable`), ' +
              'or the pipeline is overloaded (`pipeline-overloaded`: the detail says how far behind it is); retry after ' +
              '`Retry-After` seconds',
            { 'Retry-After': ref('headers', 'RetryAfter') },
          ),
        },
      }),
      get: authenticated(['requests:read', 'ops:read'], {
        operationId: 'listBackupRequests',
        summary: "List the caller's requests",
        description:
          "The caller's own requests (scope `requests:read`), or with `all=true` every client's (scope `ops:read`), " +
          'newest first, cursor-paginated.',
        tags: ['requests'],
        parameters: [
          { name: 'status', in: 'query', description: 'only requests in this status', schema: schema('RequestStatus') },
          { name: 'backupJobId', in: 'query', description: 'only requests for this job', schema: BACKUP_JOB_ID },
          {
            name: 'since',
            in: 'query',
            description: 'only requests received at or after this instant (an ISO 8601 timestamp with offset, or a date)',
            schema: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'string', format: 'date' }] },
          },
          { name: 'limit', in: 'query', description: 'page size', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          cursor,
          { name: 'all', in: 'query', description: "every client's requests, not only the caller's (needs `ops:read`)", schema: { type: 'boolean', default: false } },
        ],
        responses: {
          '200': response('one page', schema('BackupRequestPage')),
          '400': ref('responses', 'BadRequest'),
        },
      }),
    }),
    '/api/v1/backup-requests/{backupRequestId}': path({
      parameters: [backupRequestId],
      get: authenticated(['requests:read', 'jobs:admin', 'ops:read'], {
        operationId: 'getBackupRequest',
        summary: 'One request with its status history',
        description: "404 when unknown or another client's (unless the caller has `jobs:admin` or `ops:read`, which read every client's).",
        tags: ['requests'],
        responses: {
          '200': response('the request and its history', schema('BackupRequestWithHistory')),
          '404': ref('responses', 'NotFound'),
        },
      }),
    }),
    '/api/v1/backup-jobs': path({
      get: authenticated(['jobs:admin'], {
        operationId: 'listBackupJobs',
        summary: 'List backup jobs',
        description: 'The catalogue in backupJobId order, cursor-paginated.',
        tags: ['jobs'],
        parameters: [
          { name: 'limit', in: 'query', description: 'page size', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
          cursor,
        ],
        responses: {
          '200': response('one page', schema('BackupJobPage')),
          '400': ref('responses', 'BadRequest'),
        },
      }),
    }),
    '/api/v1/backup-jobs/{backupJobId}': path({
      parameters: [backupJobId],
      put: authenticated(['jobs:admin'], {
        operationId: 'putBackupJob',
        summary: 'Create or replace a backup job',
        description: '201 when created, 200 when replaced.',
        tags: ['jobs'],
        requestBody: { required: true, description: `JSON, at most ${BODY_LIMIT_BYTES} bytes`, content: json(schema('BackupJobDefinition')) },
        responses: {
          '201': response('created', schema('BackupJob'), { Location: locationHeader('the job') }),
          '200': response('replaced', schema('BackupJob'), { Location: locationHeader('the job') }),
          '400': ref('responses', 'BadRequest'),
          '413': ref('responses', 'PayloadTooLarge'),
          '415': ref('responses', 'UnsupportedMediaType'),
        },
      }),
      get: authenticated(['jobs:admin'], {
        operationId: 'getBackupJob',
        summary: 'One backup job',
        description: 'The job as stored.',
        tags: ['jobs'],
        responses: { '200': response('the job', schema('BackupJob')), '404': ref('responses', 'NotFound') },
      }),
    }),
    '/livez': path({
      get: {
        operationId: 'livez',
        summary: 'Liveness probe',
        description: 'No token. 200 while the process runs and is not shutting down.',
        tags: ['operations'],
        security: [],
        responses: { '200': response('alive', schema('Liveness')), '503': response('shutting down', schema('Liveness')) },
      },
    }),
    '/readyz': path({
      get: {
        operationId: 'readyz',
        summary: 'Readiness probe',
        description: 'No token. 200 when Postgres and Redis answer, else 503 naming which one is down.',
        tags: ['operations'],
        security: [],
        responses: { '200': response('ready', schema('Readiness')), '503': response('not ready', schema('Readiness')) },
      },
    }),
    '/healthz': path({
      get: authenticated(['ops:read'], {
        operationId: 'healthz',
        summary: 'Health for dashboards',
        description:
          'Dependencies with latency, PM2 apps, BullMQ queue counts, request counts and whether new requests are ' +
          'admitted, from a snapshot at most about a second old, so polling costs Redis, Postgres and PM2 nothing.',
        tags: ['operations'],
        responses: {
          '200': response('status ok or degraded', schema('HealthSnapshot')),
          '503': response('status down (Postgres unreachable), or no snapshot yet', {
            oneOf: [schema('HealthSnapshot'), schema('HealthStarting')],
          }),
        },
      }),
    }),
    '/metrics': path({
      get: authenticated(['ops:read'], {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        description: 'The /healthz figures, HTTP request rate and latency, runtime metrics and pipeline counters.',
        tags: ['operations'],
        responses: {
          '200': {
            description: 'Prometheus text exposition format',
            headers: { 'X-Request-Id': ref('headers', 'XRequestId') },
            content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
          },
        },
      }),
    }),
    '/openapi.json': path({
      get: authenticated([], {
        operationId: 'openapi',
        summary: 'This document',
        description: 'The OpenAPI 3.1 description of this API.',
        tags: ['operations'],
        responses: { '200': response('the document', { type: 'object' }) },
      }),
    }),
    // The operator pages for browsers (browser-session.ts, dashboard-routes.ts, queue-board.ts).
    // Their files and bull-board's own pages and API below these paths are not described here.
    '/dashboard': path({
      get: authenticated(['ops:read'], {
        operationId: 'dashboard',
        summary: 'Request dashboard (HTML)',
        description: "The /healthz summary, the latest requests and one request's timeline. A browser without a session is sent to the sign-in page.",
        tags: ['ui'],
        responses: { '200': { description: 'the page', content: html } },
      }),
    }),
    '/admin/queues': path({
      get: authenticated(['ops:read'], {
        operationId: 'queueUi',
        summary: 'Queue UI (HTML, bull-board)',
        description: 'bull-board over the BullMQ queues; read-only unless the caller also has `jobs:admin`.',
        tags: ['ui'],
        responses: { '200': { description: 'the page', content: html } },
      }),
    }),
    '/admin/session': path({
      get: {
        operationId: 'signInPage',
        summary: 'Sign-in page (HTML)',
        description: 'No token. The form that starts a browser session.',
        tags: ['ui'],
        security: [],
        parameters: [{ name: 'next', in: 'query', description: 'the operator page to go to after signing in', schema: { type: 'string' } }],
        responses: { '200': { description: 'the page', content: html } },
      },
      post: {
        operationId: 'signIn',
        summary: 'Start a browser session',
        description:
          'No token: the API key comes in the body. Verifies it like a bearer token and stores it in an HttpOnly, ' +
          `SameSite=Strict cookie \`${SESSION_COOKIE}\` for 12 hours. A browser form post (Accept: text/html) is ` +
          'redirected to `next` (or back to the form with an error); other callers get JSON.',
        tags: ['ui'],
        security: [],
        requestBody: {
          required: true,
          description: 'form-urlencoded or JSON',
          content: {
            'application/x-www-form-urlencoded': { schema: schema('SignIn') },
            'application/json': { schema: schema('SignIn') },
          },
        },
        responses: {
          '200': response('signed in', schema('Session'), { 'Set-Cookie': ref('headers', 'SetSessionCookie') }),
          '303': { description: 'signed in (a browser form post): on to `next`', headers: { Location: locationHeader('the operator page') } },
          '400': ref('responses', 'BadRequest'),
          '401': problem('the API key is not valid'),
          '403': problem('a request from a page of another site'),
          '415': ref('responses', 'UnsupportedMediaType'),
          '503': ref('responses', 'ServiceUnavailable'),
        },
      },
    }),
    '/admin/session/logout': path({
      post: {
        operationId: 'signOut',
        summary: 'End the browser session',
        description: 'No token. Clears the session cookie; a browser is sent back to the sign-in page.',
        tags: ['ui'],
        security: [],
        responses: {
          '204': { description: 'signed out', headers: { 'Set-Cookie': ref('headers', 'SetSessionCookie') } },
          '303': { description: 'signed out (a browser): to the sign-in page', headers: { Location: locationHeader('/admin/session') } },
          '403': problem('a request from a page of another site'),
        },
      },
    }),
  },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key (lbk_…) or JWT',
        description: `An API key issued by linebacker, or a JWT whose \`sub\` is the client id. Scopes: ${SCOPES.map((s) => `\`${s}\``).join(', ')}.`,
      },
      session: {
        type: 'apiKey',
        in: 'cookie',
        name: SESSION_COOKIE,
        description:
          'The API key, kept by a browser after POST /admin/session. Used only when there is no Authorization header; ' +
          'a POST, PUT or DELETE with it must come from this site (Origin).',
      },
    },
    parameters: {
      IdempotencyKey: {
        name: 'Idempotency-Key',
        in: 'header',
        description: 'the same key from the same client returns the original response; with a different body it is 422',
        schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
      },
      traceparent: {
        name: 'traceparent',
        in: 'header',
        description: 'W3C trace context; its trace id becomes the trace id of the request',
        schema: { type: 'string' },
      },
      XRequestIdIn: {
        name: 'X-Request-Id',
        in: 'header',
        description: 'used as the trace id when there is no traceparent (1–128 of A–Z a–z 0–9 . _ : -)',
        schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
      },
    },
    headers: {
      XRequestId: { description: 'the trace id of this request', schema: { type: 'string' } },
      SetSessionCookie: { description: `sets or clears the \`${SESSION_COOKIE}\` cookie`, schema: { type: 'string' } },
      IdempotentReplayed: { description: '`true` when answered from a stored Idempotency-Key response', schema: { type: 'string', const: 'true' } },
      RetryAfter: { description: 'seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
    },
    responses: {
      BadRequest: problem('invalid body, field, query parameter or header: `errors` names every one'),
      Unauthorized: problem('no token, or not a valid one', {
        'WWW-Authenticate': { description: 'Bearer realm="linebacker"', schema: { type: 'string' } },
      }),
      Forbidden: problem('the token lacks the scope this operation needs'),
      NotFound: problem('no such resource (or not yours)'),
      PayloadTooLarge: problem(`body over ${BODY_LIMIT_BYTES} bytes`),
      UnsupportedMediaType: problem('the body is not declared JSON (application/json or +json) or not UTF-8'),
      TooManyRequests: problem('over the per-client rate limit', { 'Retry-After': ref('headers', 'RetryAfter') }),
      ServiceUnavailable: problem('Postgres (or the identity provider) is unavailable', { 'Retry-After': ref('headers', 'RetryAfter') }),
    },
    schemas,
  },
};

/** GET /openapi.json: behind a token like every path but the probes, no scope needed. */
export function openApiRoutes(): Router {
  const router = Router();
  const body = JSON.stringify(openApiDocument);
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body);
  });
  return router;
}
