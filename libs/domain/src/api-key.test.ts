import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, looksLikeApiKey } from './api-key.js';
import { parseScopes } from './scopes.js';

describe('API keys', () => {
  it('are random, recognisable, and hashed deterministically', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).not.toBe(b);
    expect(looksLikeApiKey(a)).toBe(true);
    expect(looksLikeApiKey('eyJhbGciOi.eyJzdWIi.sig')).toBe(false);
    expect(hashApiKey(a)).toBe(hashApiKey(a));
    expect(hashApiKey(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(a)).not.toBe(hashApiKey(b));
  });
});

describe('scopes', () => {
  it('parses comma or space separated lists and reports unknown names', () => {
    expect(parseScopes('requests:write, requests:read jobs:admin,requests:write')).toEqual({
      scopes: ['requests:write', 'requests:read', 'jobs:admin'],
      unknown: [],
    });
    expect(parseScopes('requests:write,admin').unknown).toEqual(['admin']);
  });
});
