import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, PermanentError } from '@linebacker/domain';
import { classifyFailure, retryDecision } from './retry-policy.js';

const policy = { startMs: 1000, maxMs: 60_000, maxAttempts: 3, maxAgeMs: 24 * 3600_000 };
const connectionRefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('failure classification', () => {
  it('separates permanent, connection and other failures', () => {
    expect(classifyFailure(new PermanentError('bad data'))).toBe('permanent');
    expect(classifyFailure(new DependencyUnavailableError('postgres', { cause: connectionRefused }))).toBe('connection');
    expect(classifyFailure(connectionRefused)).toBe('transient'); // the adapters translate; an untranslated one is a surprise
    expect(classifyFailure(new TypeError('a bug'))).toBe('transient');
  });
});

describe('retry decision', () => {
  it('never retries a permanent failure', () => {
    expect(retryDecision('permanent', 1, 0, policy)).toMatchObject({ retry: false });
  });

  it('retries connection failures with backoff until the request is too old', () => {
    expect(retryDecision('connection', 50, 23 * 3600_000, policy, () => 1)).toEqual({ retry: true, delayMs: 60_000 });
    expect(retryDecision('connection', 2, 24 * 3600_000 + 1, policy)).toMatchObject({ retry: false });
  });

  it('retries other failures up to maxAttempts', () => {
    expect(retryDecision('transient', 3, 0, policy, () => 1)).toEqual({ retry: true, delayMs: 9000 });
    expect(retryDecision('transient', 4, 0, policy)).toMatchObject({ retry: false, reason: expect.stringMatching(/3 attempts/) });
  });
});
