import { readMinuteStatistics, type MinuteStatistics, type Pool } from '@linebacker/db';
import type { RedisClient } from '@linebacker/queues';
import type { QueueDepthHistory } from './queue-depth-history.js';
import type { PipelineStatisticsReport } from './statistics-schemas.js';

const MINUTE_MS = 60_000;
/** The charts' window: this many minutes, the current one included. */
const WINDOW_MINUTES = 60;
/**
 * A minute is read again until it ended this long ago: a change is stamped with the start of its
 * transaction but becomes visible at its commit, so a minute is final only once transactions that
 * began in it have committed (any shorter than this).
 */
const SETTLE_MS = 60_000;

/** The minutes computed so far; those that ended before `settledUpTo` are final. */
interface Computed {
  computedAt: number;
  /** Start (ms) of the first minute that is not final yet. */
  settledUpTo: number;
  minutes: MinuteStatistics[];
}

export interface PipelineStatistics {
  /** The last hour (at most `refreshMs` old): computed at most once per refresh period, whoever asks. */
  current(): Promise<PipelineStatisticsReport>;
}

export interface PipelineStatisticsDeps {
  pool: Pool;
  redis: RedisClient;
  /** Redis key of the shared computation, next to the health snapshot. */
  key: string;
  refreshMs: number;
  queueDepth: QueueDepthHistory;
}

const floorMinute = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

/** Every minute of the window, oldest first, zeros where nothing happened. */
function fillWindow(minutes: MinuteStatistics[], windowStart: number): MinuteStatistics[] {
  const byStart = new Map(minutes.map((minute) => [Date.parse(minute.minute), minute]));
  return Array.from({ length: WINDOW_MINUTES }, (_, i) => {
    const start = windowStart + i * MINUTE_MS;
    return byStart.get(start) ?? { minute: new Date(start).toISOString(), received: 0, succeeded: 0, failed: 0, notAllowed: 0, latency: {} };
  });
}

/**
 * The dashboard's per-minute statistics of the last hour (completions by outcome, stage latencies
 * from the status history) and queue depths (from the health leader's samples).
 *
 * Cost does not grow with the number of dashboards: an answer is computed at most once per
 * `refreshMs` per process (concurrent askers share it), and shared through Redis, so the receivers
 * of a cluster mostly reuse one computation. Nor with time: finished minutes are kept (in memory
 * and in Redis) and only the minutes not final yet — the last one or two — are read again from
 * Postgres; the whole hour is read only when nothing was kept (a cold start). Nothing is computed
 * while no dashboard asks.
 */
export function createPipelineStatistics(deps: PipelineStatisticsDeps): PipelineStatistics {
  let kept: Computed | undefined;
  let inFlight: Promise<PipelineStatisticsReport> | undefined;
  let report: PipelineStatisticsReport | undefined;

  const readShared = async (): Promise<Computed | undefined> => {
    const text = await deps.redis.get(deps.key).catch(() => null);
    return text ? (JSON.parse(text) as Computed) : undefined;
  };

  /** The minutes of the window: what is final in `base`, plus the rest read from Postgres. */
  const compute = async (base: Computed | undefined, now: number): Promise<Computed> => {
    const windowStart = floorMinute(now) - (WINDOW_MINUTES - 1) * MINUTE_MS;
    const from = Math.max(windowStart, base?.settledUpTo ?? windowStart);
    const fresh = await readMinuteStatistics(deps.pool, new Date(from), new Date(floorMinute(now) + MINUTE_MS));
    const final = (base?.minutes ?? []).filter((minute) => {
      const start = Date.parse(minute.minute);
      return start >= windowStart && start < from;
    });
    return { computedAt: now, settledUpTo: floorMinute(now - SETTLE_MS), minutes: [...final, ...fresh] };
  };

  const refresh = async (): Promise<PipelineStatisticsReport> => {
    const now = Date.now();
    const shared = await readShared();
    const newest = [shared, kept].filter((c): c is Computed => c !== undefined).sort((a, b) => b.computedAt - a.computedAt)[0];
    if (newest && now - newest.computedAt < deps.refreshMs) {
      kept = newest;
    } else {
      kept = await compute(newest, now);
      await deps.redis.set(deps.key, JSON.stringify(kept), 'PX', WINDOW_MINUTES * MINUTE_MS).catch(() => undefined);
    }
    const samples = await deps.queueDepth.read();
    const windowStart = floorMinute(kept.computedAt) - (WINDOW_MINUTES - 1) * MINUTE_MS;
    report = {
      generatedAt: new Date(kept.computedAt).toISOString(),
      minutes: fillWindow(kept.minutes, windowStart),
      queueDepth: { sampleSeconds: Math.round(deps.queueDepth.sampleMs / 1000), samples },
    };
    return report;
  };

  return {
    current() {
      if (report && Date.now() - Date.parse(report.generatedAt) < deps.refreshMs) return Promise.resolve(report);
      inFlight ??= refresh().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
