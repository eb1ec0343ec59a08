import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';

describe('backoff: min(start × 3^(attempt-1), max) with equal jitter', () => {
  it('grows by 3 from the start value and stops at the maximum', () => {
    const top = (attempt: number) => backoffDelayMs(attempt, 1000, 60_000, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(top)).toEqual([1000, 3000, 9000, 27_000, 60_000, 60_000]);
  });

  it('jitters between half and all of the ceiling', () => {
    expect(backoffDelayMs(2, 1000, 60_000, () => 0)).toBe(1500);
    expect(backoffDelayMs(2, 1000, 60_000, () => 0.5)).toBe(2250);
    for (let i = 0; i < 1000; i += 1) {
      const delay = backoffDelayMs(3, 1000, 60_000);
      expect(delay).toBeGreaterThanOrEqual(4500);
      expect(delay).toBeLessThanOrEqual(9000);
    }
  });

  it('treats attempt 0 like the first retry', () => {
    expect(backoffDelayMs(0, 200, 1000, () => 1)).toBe(200);
  });
});
