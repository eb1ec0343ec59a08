import { randomBytes } from 'node:crypto';
import { createApiClient, type Queryable } from '@linebacker/db';
import { generateApiKey, hashApiKey, parseScopes } from '@linebacker/domain';

export interface CreateClientOptions {
  name: string;
  scopes: string;
  /** A fixed client id, e.g. the `sub` of the client's JWTs; generated when absent. */
  id?: string | undefined;
  /** false for a client that only signs in with JWTs. */
  key: boolean;
}

const slug = (name: string) =>
  name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32) || 'client';

/** Creates an API client; the key is returned once and only its hash is stored. */
export async function createClient(db: Queryable, options: CreateClientOptions) {
  const { scopes, unknown } = parseScopes(options.scopes);
  if (unknown.length > 0) throw new Error(`unknown scope(s): ${unknown.join(', ')}`);
  if (scopes.length === 0) throw new Error('give at least one scope with --scopes');
  const clientId = options.id ?? `${slug(options.name)}-${randomBytes(4).toString('hex')}`;
  const apiKey = options.key ? generateApiKey() : null;
  const client = await createApiClient(db, {
    clientId,
    name: options.name,
    scopes,
    keyHash: apiKey ? hashApiKey(apiKey) : null,
  });
  return { clientId: client.clientId, apiKey, scopes: client.scopes };
}
