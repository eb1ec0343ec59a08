import { createHash } from 'node:crypto';

export type SimulatedOutcome = 'Succeeded' | 'Failed' | 'Malformed';

/**
 * A number in [0, 1) derived from `seed` alone (the first 4 bytes of its SHA-256), so the same
 * request always draws the same number, in this process or the next.
 */
export function uniformFrom(seed: string): number {
  return createHash('sha256').update(seed).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The fate of a backup request at the simulated interface. Deterministic per request id: tests
 * can predict each request's outcome, and a re-sent request (a duplicate) meets the same fate.
 * u < malformedRatio → Malformed; u < malformedRatio + failureRatio → Failed; else Succeeded.
 */
export function simulatedOutcome(backupRequestId: string, failureRatio: number, malformedRatio: number): SimulatedOutcome {
  const u = uniformFrom(backupRequestId);
  if (u < malformedRatio) return 'Malformed';
  if (u < malformedRatio + failureRatio) return 'Failed';
  return 'Succeeded';
}
