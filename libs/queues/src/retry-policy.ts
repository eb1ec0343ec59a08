import { backoffDelayMs, DependencyUnavailableError, PermanentError } from '@linebacker/domain';
import type { RetryConfig } from '@linebacker/config';

/**
 * How a failed step is treated (SPEC §6), from the failure classes the adapters throw:
 * - `connection`: a DependencyUnavailableError (Postgres, Redis, interface queue): retried with
 *   backoff until the request is older than `maxAgeMs`;
 * - `permanent`: a PermanentError (bad data, a request the interface refuses, a broken
 *   invariant): retrying cannot help, fail at once;
 * - `transient`: any other error, including ones we did not foresee: retried up to `maxAttempts`.
 */
export type FailureKind = 'connection' | 'transient' | 'permanent';

export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof PermanentError) return 'permanent';
  if (err instanceof DependencyUnavailableError) return 'connection';
  return 'transient';
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

/** Whether to retry attempt number `attempt` (1 = first retry), and after how long. */
export function retryDecision(
  kind: FailureKind,
  attempt: number,
  requestAgeMs: number,
  policy: RetryConfig,
  random: () => number = Math.random,
): RetryDecision {
  if (kind === 'permanent') return { retry: false, reason: 'permanent failure' };
  if (kind === 'connection' && requestAgeMs > policy.maxAgeMs) {
    return { retry: false, reason: `still failing after ${Math.round(requestAgeMs / 1000)} s` };
  }
  if (kind === 'transient' && attempt > policy.maxAttempts) {
    return { retry: false, reason: `still failing after ${policy.maxAttempts} attempts` };
  }
  return { retry: true, delayMs: backoffDelayMs(attempt, policy.startMs, policy.maxMs, random) };
}
