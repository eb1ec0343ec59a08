import { describe, expect, it } from 'vitest';
import type { QueueStatistics } from '@linebacker/queues';
import { decideAdmission, type AdmissionLimits } from './admission.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const limits: AdmissionLimits = { maxBacklog: 100, maxWaitSeconds: 120, maxDrainSeconds: 0, minBacklog: 0, staleAfterMs: 60_000 };

const queue = (waiting: number, oldestWaitingAgeSeconds: number | null = null): QueueStatistics => ({
  waiting,
  active: 0,
  delayed: 0,
  failed: 0,
  completed: 0,
  oldestWaitingAgeSeconds,
});
const snapshot = (queues: Record<string, QueueStatistics>, ageMs = 500) => ({
  generatedAt: new Date(NOW - ageMs).toISOString(),
  queues,
});

describe('decideAdmission', () => {
  it('accepts while the backlog and the waits are within the limits', () => {
    const within = snapshot({ created: queue(40, 120), allowed: queue(30, 5), 'status-received': queue(30, 60) });
    expect(decideAdmission(within, limits, NOW)).toEqual({ accepting: true, reason: null });
  });

  it('refuses when more jobs wait in created, allowed and status-received together than the backlog limit', () => {
    const over = snapshot({ created: queue(40, 1), allowed: queue(40, 1), 'status-received': queue(21, 1) });
    expect(decideAdmission(over, limits, NOW)).toEqual({
      accepting: false,
      reason: 'the pipeline has 101 jobs waiting (in created, allowed, status-received; limit 100)',
    });
  });

  it('refuses when the oldest waiting job of created or status-received is older than the wait limit, naming the oldest', () => {
    expect(decideAdmission(snapshot({ created: queue(1, 121) }), limits, NOW)).toEqual({
      accepting: false,
      reason: 'the pipeline is 121 s behind (the oldest job waiting in created; limit 120 s)',
    });
    const both = snapshot({ created: queue(1, 130), 'status-received': queue(1, 400) });
    expect(decideAdmission(both, limits, NOW).reason).toBe('the pipeline is 400 s behind (the oldest job waiting in status-received; limit 120 s)');
  });

  it('ignores how long jobs wait in allowed (the interface may hold them back), but counts them in the backlog', () => {
    expect(decideAdmission(snapshot({ allowed: queue(100, 86_400) }), limits, NOW).accepting).toBe(true);
    expect(decideAdmission(snapshot({ allowed: queue(101, 86_400) }), limits, NOW).reason).toMatch(/^the pipeline has 101 jobs waiting/);
  });

  it('gives every reason at once', () => {
    const both = snapshot({ created: queue(500, 300) });
    expect(decideAdmission(both, limits, NOW).reason).toBe(
      'the pipeline is 300 s behind (the oldest job waiting in created; limit 120 s); ' +
        'the pipeline has 500 jobs waiting (in created, allowed, status-received; limit 100)',
    );
  });

  it('turns a rule off with 0', () => {
    const far = snapshot({ created: queue(1_000_000, 86_400) });
    expect(decideAdmission(far, { ...limits, maxBacklog: 0 }, NOW).reason).toMatch(/^the pipeline is 86400 s behind/);
    expect(decideAdmission(far, { ...limits, maxWaitSeconds: 0 }, NOW).reason).toMatch(/^the pipeline has 1000000 jobs waiting/);
    expect(decideAdmission(far, { ...limits, maxBacklog: 0, maxWaitSeconds: 0 }, NOW).accepting).toBe(true);
  });

  describe('with a drain-time limit', () => {
    const drained = { ...limits, maxBacklog: 10_000, maxDrainSeconds: 20, minBacklog: 50 };

    it('refuses when the backlog is more than maxDrainSeconds of work at the drain capacity, naming both', () => {
      expect(decideAdmission(snapshot({ allowed: queue(2_000) }), drained, NOW, 100).accepting).toBe(true);
      expect(decideAdmission(snapshot({ allowed: queue(2_001) }), drained, NOW, 100)).toEqual({
        accepting: false,
        reason: 'the pipeline has 2001 jobs waiting (in created, allowed, status-received), 20 s of work at the 100 requests/s it finishes (limit 20 s)',
      });
    });

    it('never limits below minBacklog jobs, nor above maxBacklog', () => {
      expect(decideAdmission(snapshot({ allowed: queue(50) }), drained, NOW, 0.5).accepting).toBe(true);
      expect(decideAdmission(snapshot({ allowed: queue(51) }), drained, NOW, 0.5).accepting).toBe(false);
      expect(decideAdmission(snapshot({ allowed: queue(10_000) }), drained, NOW, 1_000).accepting).toBe(true);
      expect(decideAdmission(snapshot({ allowed: queue(10_001) }), drained, NOW, 1_000).reason).toBe(
        'the pipeline has 10001 jobs waiting (in created, allowed, status-received; limit 10000)',
      );
    });

    it('falls back to maxBacklog while the drain capacity is unknown, and is off at 0', () => {
      expect(decideAdmission(snapshot({ allowed: queue(9_000) }), drained, NOW, undefined).accepting).toBe(true);
      expect(decideAdmission(snapshot({ allowed: queue(9_000) }), { ...drained, maxDrainSeconds: 0 }, NOW, 100).accepting).toBe(true);
      expect(decideAdmission(snapshot({ allowed: queue(9_000) }), { ...drained, maxBacklog: 0 }, NOW, 100).accepting).toBe(false);
    });
  });

  it('accepts without a snapshot (startup), without queue figures (Redis down), or on a stale snapshot', () => {
    expect(decideAdmission(undefined, limits, NOW)).toEqual({ accepting: true, reason: null });
    expect(decideAdmission(snapshot({}), limits, NOW).accepting).toBe(true);
    const far = { created: queue(1_000_000, 86_400) };
    expect(decideAdmission(snapshot(far, 60_000), limits, NOW).accepting).toBe(false);
    expect(decideAdmission(snapshot(far, 60_001), limits, NOW).accepting).toBe(true);
  });
});
