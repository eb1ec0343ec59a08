import pg from 'pg';
import type { Scope } from '@linebacker/domain';
import { createClient } from '../../apps/cli/src/create-client.js';

export interface TestApiClient {
  clientId: string;
  apiKey: string;
}

/** Creates an API client the way the CLI does (real hashing, real table). */
export async function createTestApiClient(databaseUrl: string, scopes: Scope[], name = 'test'): Promise<TestApiClient> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const created = await createClient(client, { name, scopes: scopes.join(','), key: true });
    if (!created.apiKey) throw new Error('no key issued');
    return { clientId: created.clientId, apiKey: created.apiKey };
  } finally {
    await client.end();
  }
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions read any field
}

/** One HTTP call as a client would make it; the body is parsed when it is JSON. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, headers: response.headers, body: type.includes('json') && text ? JSON.parse(text) : text };
}
