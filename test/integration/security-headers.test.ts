import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '@linebacker/domain';
import { openApiDocument } from '../../apps/http-receiver/src/operator/openapi.js';
import { call, createTestApiClient, type ApiResponse, type TestApiClient } from '../support/api-client.js';
import type { Azurite } from '../support/azurite.js';
import { startReceiverWithAzurite, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, type TestDatabase } from '../support/test-database.js';

/*
 * SPEC §5.2: every answer of the receiver carries the usual security headers (nosniff,
 * Referrer-Policy), and every HTML page a Content-Security-Policy that forbids framing. Every
 * operation of the OpenAPI document is called with and without a token, plus the pages, the
 * queue UI's files and API, a 404, a malformed body and a malformed path.
 */

const document = JSON.parse(JSON.stringify(openApiDocument)) as {
  paths: Record<string, Partial<Record<string, { parameters?: { name: string; in: string; example?: string }[]; requestBody?: unknown }>>>;
};

let db: TestDatabase;
let azurite: Azurite;
let receiver: TestReceiver;
let everything: TestApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ receiver, azurite } = await startReceiverWithAzurite(db.databaseUrl, testQueuePrefix()));
  everything = await createTestApiClient(db.databaseUrl, [...SCOPES], 'everything');
});

afterAll(async () => {
  await receiver?.close();
  await azurite?.stop();
  await db?.drop();
});

/** Every documented operation as `[METHOD, url, has a body]`, path parameters from their examples. */
function documentedCalls(): [string, string, boolean][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).flatMap(([method, operation]) => {
      if (!operation || !['get', 'put', 'post', 'delete'].includes(method)) return [];
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) =>
        encodeURIComponent(operation.parameters?.find((p) => p.in === 'path' && p.name === name)?.example ?? 'x'),
      );
      return [[method.toUpperCase(), url, operation.requestBody !== undefined] as [string, string, boolean]];
    }),
  );
}

function expectSecurityHeaders(what: string, response: ApiResponse): void {
  expect(response.headers.get('x-content-type-options'), `${what} ${response.status}: nosniff`).toBe('nosniff');
  expect(response.headers.get('referrer-policy'), `${what} ${response.status}: Referrer-Policy`).toBe('same-origin');
  const csp = response.headers.get('content-security-policy');
  // every answer has a policy (the default forbids everything), HTML pages included
  expect(csp, `${what} ${response.status}: CSP`).toMatch(/frame-ancestors 'none'/);
  expect(csp, `${what} ${response.status}: CSP`).toMatch(/default-src 'none'/);
  if ((response.headers.get('content-type') ?? '').startsWith('text/html')) {
    expect(csp, `${what}: an HTML page runs no inline script`).not.toMatch(/script-src[^;]*'unsafe-inline'/);
  }
}

describe('security headers', () => {
  it('on every documented operation, with every scope and without a token', async () => {
    const calls = documentedCalls();
    expect(calls.length).toBeGreaterThan(10);
    for (const [method, url, hasBody] of calls) {
      for (const token of [everything.apiKey, undefined]) {
        const response = await call(receiver.url, method, url, { ...(token ? { token } : {}), ...(hasBody ? { json: {} } : {}) });
        expectSecurityHeaders(`${method} ${url}${token ? '' : ' (no token)'}`, response);
      }
    }
  });

  it('on the HTML pages, the queue UI (page, files, API), errors and a 404', async () => {
    const token = everything.apiKey;
    const html = { accept: 'text/html' };
    const pages: [string, string, Parameters<typeof call>[3]][] = [
      ['GET', '/dashboard', { token }],
      ['GET', '/dashboard/dashboard.js', { token }],
      ['GET', '/admin/queues', { token }],
      ['GET', '/admin/queues/queue/created', { token }],
      ['GET', '/admin/queues/api/queues', { token }],
      ['GET', '/admin/queues/static/images/logo.svg', { token }],
      ['GET', '/admin/session', {}],
      ['GET', '/admin/session/style.css', {}],
      ['GET', '/dashboard', { headers: html }],
      ['GET', '/no/such/path', { token }],
      ['GET', '/no/such/path', {}],
      ['GET', '/api/v1/backup-requests/%FF', { token }],
      ['POST', '/api/v1/backup-requests', { token, body: '{"x":', headers: { 'content-type': 'application/json' } }],
      ['POST', '/api/v1/backup-requests', { token, body: 'x', headers: { 'content-type': 'text/plain' } }],
      ['PUT', '/api/v1/backup-jobs/a', { token, json: { storagePathName: 'a\u0000b', backupProviderCode: 'Local', daysToKeep: 1 } }],
    ];
    for (const [method, path, options] of pages) expectSecurityHeaders(`${method} ${path}`, await call(receiver.url, method, path, options));

    const board = await call(receiver.url, 'GET', '/admin/queues', { token });
    expect(board.status).toBe(200);
    expect(board.headers.get('content-type')).toMatch(/^text\/html/);
    expect(board.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    const dashboard = await call(receiver.url, 'GET', '/dashboard', { token });
    expect(dashboard.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    expect(dashboard.headers.get('content-security-policy')).not.toMatch(/unsafe-inline/);
    const signIn = await call(receiver.url, 'GET', '/admin/session', {});
    expect(signIn.headers.get('content-type')).toMatch(/^text\/html/);
    expect(signIn.headers.get('content-security-policy')).not.toMatch(/script-src/);
  });
});
