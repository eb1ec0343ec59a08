import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { JwtConfig } from '@linebacker/config';
import {
  findApiClientById,
  findApiClientByKeyHash,
  useBrowserSession,
  type ApiClient,
  type Queryable,
} from '@linebacker/db';
import { hashApiKey, isScope, looksLikeApiKey, looksLikeSessionId, type Scope } from '@linebacker/domain';
import { Problem, unavailableProblem } from '../api/problem.js';
import type { CredentialKind } from '../health/metrics.js';

/** Who is calling, what they may do, and with which credential. */
export interface Principal {
  clientId: string;
  scopes: ReadonlySet<Scope>;
  /** A browser session authenticates only the operator pages and reads (auth-middleware.ts). */
  via: 'api-key' | 'jwt' | 'session';
}

export interface Authenticator {
  /** An `Authorization: Bearer` token: a linebacker API key, or a JWT when configured. */
  bearer(token: string): Promise<Principal>;
  /** A browser session id (the cookie of browser-session.ts). Never cached: sign-out is immediate. */
  session(sessionId: string): Promise<Principal>;
  /** Whether this bearer token is known good without any database work (a cached positive answer). */
  isKnownGood(token: string): boolean;
}

export interface AuthenticatorOptions {
  jwt: JwtConfig | undefined;
  /** How long answers (positive and negative) of the client registry are kept in this process. */
  cacheMs: number;
  /** Idle lifetime of a browser session, renewed by each use. */
  sessionIdleMs: number;
  onLookup?: (kind: CredentialKind) => void;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Public-key algorithms only: never `none`, never an HMAC that could be keyed with a public key. */
const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Clock skew allowed between the identity provider and us (SPEC §5.2: at most 60 s). */
export const JWT_CLOCK_TOLERANCE_S = 30;
const CACHE_MAX_ENTRIES = 10_000;

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

/** Answers of the client registry for a short while: `null` is a cached "no such enabled client". */
class AnswerCache<T> {
  private readonly entries = new Map<string, { value: T | null; expires: number }>();
  constructor(private readonly ttlMs: number) {}

  get(key: string): { value: T | null } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires > Date.now()) return entry;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T | null): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= CACHE_MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
  }

  async through(key: string, lookup: () => Promise<T | undefined>): Promise<T | null> {
    const cached = this.get(key);
    if (cached) return cached.value;
    const value = (await lookup()) ?? null;
    this.set(key, value);
    return value;
  }
}

/**
 * Verifies credentials against the client registry (api_clients), whatever their kind:
 *   - an API key issued by linebacker, looked up by its SHA-256;
 *   - a JWT from the identity provider (when configured): signature by a JWKS key with a public-key
 *     algorithm, issuer, audience, `exp` and `sub` required; `sub` must be a registered, enabled
 *     client, and the token's `scope`/`scp` can only narrow that client's registered scopes;
 *   - a browser session id, looked up (hashed) in browser_sessions on every use.
 * Registry answers, positive and negative, are cached for `cacheMs` (≤ 10 s), so disabling a client
 * or rotating its key takes effect everywhere within that time. Throws 401 problems; database
 * errors propagate (503).
 */
export function createAuthenticator(db: Queryable, options: AuthenticatorOptions): Authenticator {
  const { jwt, onLookup = () => {} } = options;
  const keys = new AnswerCache<ApiClient>(options.cacheMs);
  const subjects = new AnswerCache<ApiClient>(options.cacheMs);
  const jwks = jwt ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : undefined;

  async function byApiKey(apiKey: string): Promise<Principal> {
    const client = await keys.through(hashApiKey(apiKey), () => {
      onLookup('api-key');
      return findApiClientByKeyHash(db, hashApiKey(apiKey));
    });
    if (!client) throw unauthenticated('the API key is not valid');
    return { clientId: client.clientId, scopes: new Set(client.scopes), via: 'api-key' };
  }

  async function byJwt(token: string, config: JwtConfig, keySet: NonNullable<typeof jwks>): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: JWT_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: JWT_CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError && !(err instanceof joseErrors.JWKSTimeout)) {
        throw unauthenticated(`the token is not valid: ${err.message}`);
      }
      throw unavailableProblem('identity-provider-unavailable', 'the identity provider could not be reached', 5);
    }
    const subject = payload.sub;
    if (!subject) throw unauthenticated('the token has no subject');
    const client = await subjects.through(subject, () => {
      onLookup('jwt-subject');
      return findApiClientById(db, subject);
    });
    if (!client) throw unauthenticated('the token subject is not a registered, enabled client');
    const registered = new Set(client.scopes);
    const asked = scopesOfToken(payload);
    const scopes = asked === undefined ? registered : new Set(asked.filter((scope) => registered.has(scope)));
    return { clientId: client.clientId, scopes, via: 'jwt' };
  }

  /** The `sub` of a JWT-shaped token, unverified: only to find a cached answer. */
  const subjectOf = (token: string): string | undefined => {
    try {
      return decodeJwt(token).sub;
    } catch {
      return undefined;
    }
  };

  return {
    async bearer(token) {
      if (looksLikeApiKey(token)) return byApiKey(token);
      if (jwt && jwks && JWT_SHAPE.test(token)) return byJwt(token, jwt, jwks);
      throw unauthenticated('the bearer token is not a linebacker API key' + (jwt ? ' or a JWT' : ''));
    },

    async session(sessionId) {
      if (!looksLikeSessionId(sessionId)) throw unauthenticated('the session is not valid; sign in again');
      onLookup('session');
      const session = await useBrowserSession(db, hashApiKey(sessionId), options.sessionIdleMs);
      if (!session) throw unauthenticated('the session has ended; sign in again');
      return { clientId: session.clientId, scopes: new Set(session.scopes), via: 'session' };
    },

    isKnownGood(token) {
      if (looksLikeApiKey(token)) return Boolean(keys.get(hashApiKey(token))?.value);
      if (!jwt || !JWT_SHAPE.test(token)) return false;
      const subject = subjectOf(token);
      return subject !== undefined && Boolean(subjects.get(subject)?.value);
    },
  };
}
