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

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/** Cheap shape check, so that a JWT or garbage is not looked up as an API key. */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX) && token.length === API_KEY_PREFIX.length + 43;
}
