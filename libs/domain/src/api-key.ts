import { createHash, randomBytes } from 'node:crypto';

const API_KEY_PREFIX = 'lbk_';

/**
 * API keys are 256 random bits, so a fast SHA-256 is the right hash to store (as for GitHub or
 * Stripe tokens): a slow password hash only matters for guessable secrets, and a keyed lookup by
 * hash keeps authentication to one indexed read.
 */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** SHA-256 (hex) of an API key or a browser session id: what is stored instead of the secret. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

const SESSION_ID_PREFIX = 'lbs_';

/** A browser session id: 256 random bits, opaque, stored only as its hash (like an API key). */
export function generateSessionId(): string {
  return SESSION_ID_PREFIX + randomBytes(32).toString('base64url');
}

export function looksLikeSessionId(token: string): boolean {
  return token.startsWith(SESSION_ID_PREFIX) && token.length === SESSION_ID_PREFIX.length + 43;
}

/** Cheap shape check, so that a JWT or garbage is not looked up as an API key. */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX) && token.length === API_KEY_PREFIX.length + 43;
}
