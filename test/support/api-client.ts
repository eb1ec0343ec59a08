import { request, type Agent } from 'node:http';
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
  const type = response.headers.get('content-type') ?? '';
  const text = type.startsWith('text/event-stream') ? await firstChunk(response) : await response.text();
  return { status: response.status, headers: response.headers, body: type.includes('json') && text ? JSON.parse(text) : text };
}

/** An event stream never ends: its first chunk (the stream's opening), then the connection is closed. */
async function firstChunk(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  try {
    const { value } = await reader.read();
    return new TextDecoder().decode(value);
  } finally {
    await reader.cancel();
  }
}

/**
 * The same through a node:http Agent, to choose how connections are kept (e.g. `keepAlive`);
 * `reusedSocket` says whether the request went out on a connection kept from an earlier one.
 */
export function callWithAgent(
  agent: Agent,
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; timeoutMs?: number } = {},
): Promise<ApiResponse & { reusedSocket: boolean }> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, { method, agent, headers, timeout: options.timeoutMs ?? 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', reject);
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) responseHeaders.set(name, String(value));
        const type = responseHeaders.get('content-type') ?? '';
        resolve({
          status: res.statusCode ?? 0,
          headers: responseHeaders,
          body: type.includes('json') && text ? JSON.parse(text) : text,
          reusedSocket: req.reusedSocket,
        });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
