import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { simulatedOutcome, type SimulatedOutcome } from './simulated-outcome.js';

describe('simulatedOutcome', () => {
  it('gives the same request id the same fate every time', () => {
    for (let i = 0; i < 200; i++) {
      const id = randomUUID();
      const first = simulatedOutcome(id, 0.3, 0.2);
      for (let j = 0; j < 5; j++) expect(simulatedOutcome(id, 0.3, 0.2)).toBe(first);
    }
  });

  it('always succeeds with both ratios at 0, never succeeds when they add up to 1', () => {
    for (let i = 0; i < 500; i++) {
      const id = randomUUID();
      expect(simulatedOutcome(id, 0, 0)).toBe('Succeeded');
      expect(simulatedOutcome(id, 0.5, 0.5)).not.toBe('Succeeded');
      expect(simulatedOutcome(id, 1, 0)).toBe('Failed');
      expect(simulatedOutcome(id, 0, 1)).toBe('Malformed');
    }
  });

  it('over 10,000 random ids, each outcome takes its configured share (±2 %)', () => {
    const counts: Record<SimulatedOutcome, number> = { Succeeded: 0, Failed: 0, Malformed: 0 };
    const total = 10_000;
    for (let i = 0; i < total; i++) counts[simulatedOutcome(randomUUID(), 0.3, 0.2)] += 1;
    expect(Math.abs(counts.Malformed / total - 0.2)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(counts.Failed / total - 0.3)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(counts.Succeeded / total - 0.5)).toBeLessThanOrEqual(0.02);
  });
});
