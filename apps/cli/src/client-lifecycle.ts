import { disableApiClient, enableApiClient, listApiClients, replaceApiKey, type ApiClient, type Queryable } from '@linebacker/db';
import { generateApiKey, hashApiKey } from '@linebacker/domain';

/*
 * `clients list | disable | enable | rotate-key`. Receivers cache what they read of a client for
 * LINEBACKER_AUTH_CACHE_MS (≤ 10 s): a disabled client's keys and JWTs, or a rotated-out key, stop
 * working in every receiver within that time; its browser sessions end at once.
 */

const known = (clientId: string) => (client: ApiClient | undefined): ApiClient => {
  if (!client) throw new Error(`no client ${clientId}`);
  return client;
};

/** Every client: id, name, scopes, created, disabled, last used (never a key or its hash). */
export async function listClients(db: Queryable) {
  return (await listApiClients(db)).map((client) => ({
    clientId: client.clientId,
    name: client.name,
    scopes: client.scopes,
    hasKey: client.hasKey,
    createdAt: client.createdAt.toISOString(),
    disabledAt: client.disabledAt?.toISOString() ?? null,
    lastUsedAt: client.lastUsedAt?.toISOString() ?? null,
  }));
}

export async function disableClient(db: Queryable, clientId: string) {
  const client = known(clientId)(await disableApiClient(db, clientId));
  return { clientId: client.clientId, disabled: true };
}

export async function enableClient(db: Queryable, clientId: string) {
  const client = known(clientId)(await enableApiClient(db, clientId));
  return { clientId: client.clientId, disabled: false };
}

/** A new key for the client, returned once; the old key and the sessions started with it end. */
export async function rotateClientKey(db: Queryable, clientId: string) {
  const apiKey = generateApiKey();
  const client = known(clientId)(await replaceApiKey(db, clientId, hashApiKey(apiKey)));
  return { clientId: client.clientId, apiKey, scopes: client.scopes };
}
