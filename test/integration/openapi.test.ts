import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { Express } from 'express';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordTransition } from '@linebacker/db';
import { SCOPES } from '@linebacker/domain';
import { openApiDocument } from '../../apps/http-receiver/src/operator/openapi.js';
import { call, createTestApiClient, type ApiResponse, type TestApiClient } from '../support/api-client.js';
import type { Azurite } from '../support/azurite.js';
import { startReceiverWithAzurite, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, type TestDatabase } from '../support/test-database.js';

/*
 * Keeps GET /openapi.json in step with the real http-receiver (apps/http-receiver/src/operator/openapi.ts).
 *
 * Two directions, two methods, because neither method sees everything:
 *   - route → document: the routes of the real Express app, read from its router. Express 5's
 *     router (2.3+) lists what was registered with router.get/put/... through its public
 *     `listRoutes()`, recursively through mounted routers; that is how every API route here is
 *     written, so an undocumented route fails this test. Things mounted with `app.use(path, ...)`
 *     that are not routers (a sub-app such as bull-board, express.static, a handler array) cannot
 *     be listed inside: their mount path must then be documented (some documented path starts with
 *     it) or be under UI_ONLY. A route hidden inside a plain middleware (`if (req.path === ...)`)
 *     is invisible to any introspection: don't write routes that way.
 *   - document → route: each documented operation is called over HTTP, with its documented path
 *     examples and a token holding every scope, and must not reach the catch-all 404 ("no route
 *     for ..."). That works whatever serves the route (router, sub-app, static files).
 */

/**
 * Paths for browsers that the document deliberately leaves out (each a prefix): the files and
 * pages below the documented entry pages, and bull-board's own pages and JSON API.
 */
const UI_ONLY = ['/dashboard/', '/admin/queues/', '/admin/session/style.css'];
const isUiOnly = (path: string) => UI_ONLY.some((prefix) => path === prefix || path.startsWith(prefix));

// The parts of an OpenAPI 3.1 document this test reads.
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
type HttpMethod = (typeof HTTP_METHODS)[number];
type Reference = { $ref: string };
interface Parameter {
  name: string;
  in: string;
  example?: string;
}
interface Operation {
  parameters?: (Parameter | Reference)[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema: unknown }> } | Reference>;
}
type PathItem = { parameters?: (Parameter | Reference)[] } & Partial<Record<HttpMethod, Operation>>;
const document = JSON.parse(JSON.stringify(openApiDocument)) as { paths: Record<string, PathItem>; components: { schemas: unknown } };
const today = new Date().toISOString().slice(0, 10);

let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let receiver: TestReceiver;
let everything: TestApiClient;
let writer: TestApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  // private webhook destinations allowed: an endpoint on loopback can be created without DNS
  ({ receiver, azurite } = await startReceiverWithAzurite(db.databaseUrl, testQueuePrefix(), { LINEBACKER_WEBHOOK_ALLOW_PRIVATE: 'true' }));
  everything = await createTestApiClient(db.databaseUrl, [...SCOPES], 'everything');
  writer = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'writer');
});

afterAll(async () => {
  await receiver?.close();
  await azurite?.stop();
  await pool?.end();
  await db?.drop();
});

// ---- the routes of the app ----------------------------------------------------------------------

interface ListedRoute {
  path: string | RegExp;
  methods: string[] | undefined;
  router: RouterLike | undefined;
}
interface RouterLike {
  listRoutes?: () => ListedRoute[];
  stack: { route?: unknown; handle: { stack?: unknown }; rawPath?: unknown }[];
}

const joinPath = (prefix: string, path: string) => `${prefix}/${path}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
/** `/a/:id` and `/a/{backupRequestId}` both become `/a/{}`. */
const template = (path: string) => path.replace(/:[A-Za-z0-9_]+/g, '{}').replace(/\{[^}]*\}/g, '{}');

/** `METHOD /path` of every route, and the path of everything mounted that cannot be listed inside. */
function appRoutes(app: Express): { operations: Set<string>; opaqueMounts: Set<string> } {
  const operations = new Set<string>();
  const opaqueMounts = new Set<string>();
  const walk = (router: RouterLike, prefix: string) => {
    if (typeof router.listRoutes !== 'function') throw new Error('router.listRoutes() is missing: Express/router changed, update this test');
    for (const { path, methods, router: mounted } of router.listRoutes()) {
      if (typeof path !== 'string') throw new Error(`a route with a RegExp path (${String(path)}): give it a string path`);
      const full = joinPath(prefix, path);
      if (mounted) walk(mounted, full);
      for (const method of methods ?? []) {
        if (method === 'HEAD' && methods?.includes('GET')) continue; // Express answers HEAD for every GET
        operations.add(`${method} ${full}`);
      }
    }
    for (const layer of router.stack) {
      if (!('rawPath' in layer)) throw new Error('router layers have no rawPath: Express/router changed, update this test');
      if (layer.route || Array.isArray(layer.handle.stack)) continue; // listed above
      if (typeof layer.rawPath === 'string' && layer.rawPath !== '/') opaqueMounts.add(joinPath(prefix, layer.rawPath));
    }
  };
  walk(app.router as unknown as RouterLike, '');
  return { operations, opaqueMounts };
}

function documentedOperations(): { method: HttpMethod; path: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => (item[method] ? [{ method, path, operation: item[method] }] : [])),
  );
}

// ---- response validation ---------------------------------------------------------------------------

const ajv = new Ajv2020({ strict: true, allErrors: true });
ajvFormats.default(ajv);
ajv.addKeyword('components');
ajv.addSchema({ components: { schemas: closed(document.components.schemas) } }, 'openapi.json');

/**
 * The same schemas with every described object closed (`additionalProperties: false`), so a real
 * response with a field the document does not describe fails too. Only for this test: the
 * published document leaves objects open, so clients tolerate new fields.
 */
function closed<T>(value: T): T {
  if (Array.isArray(value)) return value.map(closed) as T;
  if (value === null || typeof value !== 'object') return value;
  const copy = Object.fromEntries(Object.entries(value).map(([key, item]) => [key, closed(item)]));
  if ('properties' in copy && !('additionalProperties' in copy)) copy.additionalProperties = false;
  return copy as T;
}

const resolve = <T>(node: T | { $ref: string }): T =>
  node && typeof node === 'object' && '$ref' in node
    ? (node.$ref.replace(/^#\//, '').split('/').reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], document) as T)
    : node;

/** Asserts that a real response is one the document describes for that operation, body included. */
function expectDocumented(path: string, method: HttpMethod, response: ApiResponse): void {
  const operation = document.paths[path]?.[method];
  if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
  const documented = operation.responses[String(response.status)];
  expect(documented, `${method.toUpperCase()} ${path} documents status ${response.status}`).toBeDefined();
  const { content } = resolve(documented!);
  if (!content) {
    expect(response.body, `${method.toUpperCase()} ${path} ${response.status} documents no body`).toBe('');
    return;
  }
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!;
  const schema = content?.[mediaType]?.schema;
  expect(schema, `${method.toUpperCase()} ${path} ${response.status} documents ${mediaType}`).toBeDefined();
  const validate = ajv.compile(JSON.parse(JSON.stringify(closed(schema)).replaceAll('"$ref":"#/', '"$ref":"openapi.json#/')) as object);
  expect(validate(response.body) ? [] : validate.errors, `${method.toUpperCase()} ${path} ${response.status}`).toEqual([]);
}

// ---- the tests ----------------------------------------------------------------------------------

describe('GET /openapi.json', () => {
  it('needs a token (any scope) and serves the document', async () => {
    expect((await call(receiver.url, 'GET', '/openapi.json')).status).toBe(401);
    const served = await call(receiver.url, 'GET', '/openapi.json', { token: writer.apiKey });
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^application\/json/);
    expect(served.body).toEqual(document);
  });
});

describe('the document and the routes are in step', () => {
  it('documents every route of the app', () => {
    const documented = new Set(documentedOperations().map(({ method, path }) => `${method.toUpperCase()} ${template(path)}`));
    const documentedPaths = Object.keys(document.paths);
    const { operations, opaqueMounts } = appRoutes(receiver.app);

    const undocumented = [...operations].filter((op) => !isUiOnly(op.split(' ')[1]!) && !documented.has(template(op)));
    expect(undocumented, 'routes of the app missing from openapi.ts').toEqual([]);
    const unaccounted = [...opaqueMounts].filter((mount) => !isUiOnly(mount) && !documentedPaths.some((path) => path.startsWith(mount)));
    expect(unaccounted, 'mounted sub-apps or middleware with no documented path (or add them to UI_ONLY)').toEqual([]);
    // the walk does see the app (an Express upgrade that breaks it must not pass silently)
    expect(operations).toContain('PUT /api/v1/backup-jobs/:id');
    expect(operations).toContain('GET /livez');
  });

  it('every documented operation exists, and answers as documented', async () => {
    const missing: string[] = [];
    for (const { method, path, operation } of documentedOperations()) {
      const parameters = [...(document.paths[path]?.parameters ?? []), ...(operation.parameters ?? [])].map((p) => resolve<Parameter>(p));
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
        const example = parameters.find((p) => p.in === 'path' && p.name === name)?.example;
        if (!example) throw new Error(`${path}: path parameter ${name} has no example`);
        return encodeURIComponent(example);
      });
      const response = await call(receiver.url, method.toUpperCase(), url, {
        token: everything.apiKey,
        ...(operation.requestBody ? { json: {} } : {}),
      });
      if (response.status === 404 && String(response.body?.detail).startsWith('no route for')) missing.push(`${method.toUpperCase()} ${path}`);
      else expectDocumented(path, method, response);
    }
    expect(missing, 'documented in openapi.ts but not served').toEqual([]);
  });
});

describe('real responses match the documented schemas', () => {
  const requests = '/api/v1/backup-requests';
  const body = { backupJobId: 'openapi-job', dataDate: today, backupDataLocation: '/data/openapi' };

  it('backup requests: 202, 200 duplicate, the request with a history, the list, and problems', async () => {
    const accepted = await call(receiver.url, 'POST', requests, { token: writer.apiKey, json: body });
    expect(accepted.status).toBe(202);
    expectDocumented(requests, 'post', accepted);
    const duplicate = await call(receiver.url, 'POST', requests, { token: writer.apiKey, json: body });
    expect(duplicate.status).toBe(200);
    expectDocumented(requests, 'post', duplicate);

    const id = accepted.body.backupRequestId as string;
    await recordTransition(pool, { backupRequestId: id, to: 'Allowed', backupProviderCode: 'CloudB', storagePathName: 'vault/openapi' });
    await recordTransition(pool, { backupRequestId: id, to: 'Sent' });
    await recordTransition(pool, { backupRequestId: id, to: 'Failed', reason: 'disk full' });
    const withHistory = await call(receiver.url, 'GET', `${requests}/${id}`, { token: writer.apiKey });
    expect(withHistory.body.history.map((entry: { status: string }) => entry.status)).toEqual(['Received', 'Allowed', 'Sent', 'Failed']);
    expectDocumented(`${requests}/{backupRequestId}`, 'get', withHistory);

    const list = await call(receiver.url, 'GET', `${requests}?limit=1`, { token: writer.apiKey });
    expect(list.body.items).toHaveLength(1);
    expectDocumented(requests, 'get', list);

    const invalid = await call(receiver.url, 'POST', requests, {
      token: writer.apiKey,
      json: { backupJobId: 'no spaces', dataDate: '2023-02-29', backupDataLocation: '', apiVersion: 'v2' },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['apiVersion', 'backupDataLocation', 'backupJobId', 'dataDate']);
    expectDocumented(requests, 'post', invalid);
    expectDocumented(requests, 'post', await call(receiver.url, 'POST', requests, { token: writer.apiKey, body: 'x', headers: { 'content-type': 'text/plain' } }));
    expectDocumented(requests, 'post', await call(receiver.url, 'POST', requests, { json: body }));
    expectDocumented(requests, 'get', await call(receiver.url, 'GET', `${requests}?limit=0`, { token: writer.apiKey }));
    expectDocumented(`${requests}/{backupRequestId}`, 'get', await call(receiver.url, 'GET', `${requests}/${id.replace(/.$/, '0')}`, { token: writer.apiKey }));
  });

  it('backup jobs: 201, 200, one job, the list, 403', async () => {
    const jobs = '/api/v1/backup-jobs';
    const definition = { storagePathName: 'vault/x', backupProviderCode: 'Local', daysToKeep: 7 };
    const created = await call(receiver.url, 'PUT', `${jobs}/openapi-x`, { token: everything.apiKey, json: definition });
    expect(created.status).toBe(201);
    expectDocumented(`${jobs}/{backupJobId}`, 'put', created);
    expectDocumented(`${jobs}/{backupJobId}`, 'put', await call(receiver.url, 'PUT', `${jobs}/openapi-x`, { token: everything.apiKey, json: definition }));
    expectDocumented(`${jobs}/{backupJobId}`, 'get', await call(receiver.url, 'GET', `${jobs}/openapi-x`, { token: everything.apiKey }));
    expectDocumented(jobs, 'get', await call(receiver.url, 'GET', jobs, { token: everything.apiKey }));
    const forbidden = await call(receiver.url, 'GET', jobs, { token: writer.apiKey });
    expect(forbidden.status).toBe(403);
    expectDocumented(jobs, 'get', forbidden);
  });

  it('webhook endpoints: 201 with the secret, the list, one, its deliveries, 204, and problems', async () => {
    const endpoints = '/api/v1/webhook-endpoints';
    const created = await call(receiver.url, 'POST', endpoints, { token: writer.apiKey, json: { url: 'http://127.0.0.1:9/hook', statuses: ['Failed'] } });
    expect(created.status).toBe(201);
    expectDocumented(endpoints, 'post', created);
    const one = `${endpoints}/{endpointId}`;
    const id = created.body.endpointId as string;
    // a delivery as the notifier records them (a real event of the outbox as its body)
    const accepted = await call(receiver.url, 'POST', requests, { token: writer.apiKey, json: { ...body, backupDataLocation: '/data/openapi-hook' } });
    const { rows } = await pool.query<{ id: string; body: string }>(
      `SELECT id, json_build_object('eventId', lpad(id::text, 16, '0'), 'type', 'backup-request.status-changed', 'backupRequestId', backup_request_id,
         'requesterId', requester_id, 'backupJobId', backup_job_id, 'status', status, 'previousStatus', previous_status, 'reason', reason,
         'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'traceId', trace_id)::text AS body
       FROM backup_request_events WHERE backup_request_id = $1`,
      [accepted.body.backupRequestId],
    );
    await pool.query(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, body, attempts, last_attempt_at, last_status_code, last_error, next_attempt_at)
       VALUES ($1, $2, $3, 2, now(), 500, 'answered 500', now() + interval '3 seconds')`,
      [id, rows[0]!.id, rows[0]!.body],
    );
    const deliveries = await call(receiver.url, 'GET', `${endpoints}/${id}/deliveries`, { token: writer.apiKey });
    expect(deliveries.body.items).toMatchObject([{ status: 'pending', attempts: 2, lastStatusCode: 500, event: { status: 'Received' } }]);
    expectDocumented(`${one}/deliveries`, 'get', deliveries);
    expectDocumented(endpoints, 'get', await call(receiver.url, 'GET', endpoints, { token: writer.apiKey }));
    expectDocumented(one, 'get', await call(receiver.url, 'GET', `${endpoints}/${id}`, { token: writer.apiKey }));
    expectDocumented(endpoints, 'post', await call(receiver.url, 'POST', endpoints, { token: writer.apiKey, json: { url: 'gopher://x' } }));
    expectDocumented(`${one}/deliveries`, 'get', await call(receiver.url, 'GET', `${endpoints}/${id}/deliveries?limit=0`, { token: writer.apiKey }));
    const deleted = await call(receiver.url, 'DELETE', `${endpoints}/${id}`, { token: writer.apiKey });
    expect(deleted.status).toBe(204);
    expectDocumented(one, 'delete', deleted);
    expectDocumented(one, 'delete', await call(receiver.url, 'DELETE', `${endpoints}/${id}`, { token: writer.apiKey }));
  });

  it('operations: /livez, /readyz, /healthz, and the JSON sign-in', async () => {
    expectDocumented('/livez', 'get', await call(receiver.url, 'GET', '/livez'));
    expectDocumented('/readyz', 'get', await call(receiver.url, 'GET', '/readyz'));
    await expect.poll(async () => (await call(receiver.url, 'GET', '/healthz', { token: everything.apiKey })).status, { timeout: 10_000 }).toBe(200);
    expectDocumented('/healthz', 'get', await call(receiver.url, 'GET', '/healthz', { token: everything.apiKey }));
    const signedIn = await call(receiver.url, 'POST', '/admin/session', { json: { apiKey: everything.apiKey } });
    expect(signedIn.status).toBe(200);
    expectDocumented('/admin/session', 'post', signedIn);
  });
});
