import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { JwtConfig } from '@linebacker/config';
import { findApiClientById, findApiClientByKeyHash, type Queryable } from '@linebacker/db';
import { hashApiKey, isScope, looksLikeApiKey, type Scope } from '@linebacker/domain';
import { Problem, unavailableProblem } from '../api/problem.js';

/** Who is calling, and what they may do. */
export interface Principal {
  clientId: string;
  scopes: ReadonlySet<Scope>;
}

export type Authenticate = (token: string) => Promise<Principal>;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export const unauthenticated = (detail: string): Problem =>
  new Problem('unauthenticated', detail, {
    headers: { 'WWW-Authenticate': 'Bearer realm="linebacker"' },
  });

/** Scopes named in a JWT: OAuth's space-separated `scope`, or an `scp` list. */
function scopesOfToken(payload: JWTPayload): Scope[] | undefined {
  const claim = payload.scope ?? payload.scp;
  if (claim === undefined) return undefined;
  const names: unknown[] = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(' ') : [];
  return names.filter((name): name is Scope => typeof name === 'string' && isScope(name));
}

/**
 * Verifies a bearer token: an API key issued by linebacker (looked up by its SHA-256, positive
 * answers cached for `cacheMs`), or, when configured, a JWT from the identity provider whose `sub`
 * is the client id. A JWT's scopes come from its `scope`/`scp` claim, else from the client registered
 * under that id, else none. Throws 401 problems; database errors propagate (503).
 */
export function createAuthenticator(db: Queryable, jwt: JwtConfig | undefined, cacheMs: number): Authenticate {
  const cache = new Map<string, { principal: Principal; expires: number }>();
  const jwks = jwt ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;

  async function byApiKey(apiKey: string): Promise<Principal> {
    const hash = hashApiKey(apiKey);
    const cached = cache.get(hash);
    if (cached && cached.expires > Date.now()) return cached.principal;
    const client = await findApiClientByKeyHash(db, hash);
    if (!client) throw unauthenticated('the API key is not valid');
    const principal = { clientId: client.clientId, scopes: new Set(client.scopes) };
    if (cacheMs > 0) {
      if (cache.size >= 10_000) cache.clear();
      cache.set(hash, { principal, expires: Date.now() + cacheMs });
    }
    return principal;
  }

  async function byJwt(token: string, config: JwtConfig, keys: NonNullable<typeof jwks>): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: config.issuer, audience: config.audience }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError && !(err instanceof joseErrors.JWKSTimeout)) {
        throw unauthenticated(`the token is not valid: ${err.message}`);
      }
      throw unavailableProblem('identity-provider-unavailable', 'the identity provider could not be reached', 5);
    }
    if (!payload.sub) throw unauthenticated('the token has no subject');
    const scopes = scopesOfToken(payload) ?? (await findApiClientById(db, payload.sub))?.scopes ?? [];
    return { clientId: payload.sub, scopes: new Set(scopes) };
  }

  return async (token) => {
    if (looksLikeApiKey(token)) return byApiKey(token);
    if (jwt && jwks && JWT_SHAPE.test(token)) return byJwt(token, jwt, jwks);
    throw unauthenticated('the bearer token is not a linebacker API key' + (jwt ? ' or a JWT' : ''));
  };
}
