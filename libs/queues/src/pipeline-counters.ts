import type { RedisClient } from './redis-connection.js';
import { counterField, type CounterKey } from './counter-keys.js';

/** The Redis hash where every process adds its pipeline counters (read back by /healthz, /metrics). */
export const countersKey = (prefix: string): string => `${prefix}:linebacker:counters`;

/**
 * Counters of pipeline events (jobs by step and outcome, processing time, retries, poison
 * messages, reconciliation repairs), kept in memory and added to one Redis hash once a second with
 * a single pipelined HINCRBY batch, so counting costs no Redis round trip per job. Deltas that
 * could not be written (Redis down) are kept and written with the next flush.
 */
export class PipelineCounters {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  add(key: CounterKey, amount = 1): void {
    this.addToField(counterField(key), amount);
  }

  private addToField(field: string, amount: number): void {
    this.pending.set(field, (this.pending.get(field) ?? 0) + amount);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0 || this.redis.status !== 'ready') return;
    const batch = this.pending;
    this.pending = new Map();
    const pipeline = this.redis.pipeline();
    for (const [field, amount] of batch) pipeline.hincrby(this.key, field, Math.round(amount));
    try {
      const results = (await pipeline.exec()) ?? [];
      if (results.some(([err]) => err)) throw new Error('HINCRBY failed');
    } catch {
      // write them next time (a partially applied batch may count a few events twice; counters are for trends)
      for (const [field, amount] of batch) this.addToField(field, amount);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** Reads every counter (one HGETALL). */
export async function readCounters(redis: RedisClient, key: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(key);
  return Object.fromEntries(Object.entries(raw).map(([field, value]) => [field, Number(value)]));
}
