import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs } from '@linebacker/domain';

export interface PollLoopOptions {
  /** One poll: returns how many messages it handled. */
  poll: () => Promise<number>;
  /** Longest pause between polls while the queue stays empty. */
  maxIdleMs: number;
  /** First pause after an empty poll; grows while empty (libs/domain backoffDelayMs). */
  minIdleMs?: number;
  /**
   * A poll that handled this many messages took all it could: poll again at once. A poll that
   * handled fewer (but some) waits `batchWaitMs` first, so that the next receive finds a fuller
   * batch instead of one message per round trip (default: no wait).
   */
  fullBatch?: number;
  /** The pause after a partial batch (default 0). */
  batchWaitMs?: number;
  /** Longest pause after failing polls (the queue service or a dependency is down). */
  maxErrorBackoffMs?: number;
  /**
   * Most polls in progress at once (default 1). One poll always runs; while polls come back with
   * full batches (a backlog is waiting), another one starts beside them, up to this many, and each
   * extra one ends as soon as it gets less than a full batch. So an idle or lightly loaded queue
   * costs one receive at a time, and a backlog is drained by several receives at once, whose round
   * trips and deletes overlap (requires `fullBatch`).
   */
  concurrency?: number;
  onError: (err: unknown) => void;
}

export interface PollLoop {
  /** Finishes the polls in progress, then stops. */
  stop(): Promise<void>;
  /** Polls in progress or waiting to poll again now (1 while idle, up to `concurrency`). */
  readonly pollers: number;
}

/**
 * The pause before the next poll, after one that handled `handled` messages (-1: it failed);
 * `streak` counts the polls in a row, this one included, that handled nothing (or failed).
 *
 * Why a partial batch waits: against a message queue service every receive is one HTTP round
 * trip whose cost hardly depends on how many messages it returns (Azurite: ~10 ms of its CPU for a
 * receive, ~0.2 ms per message in it). Polling again at once while messages trickle in costs one
 * receive per message; waiting `batchWaitMs` lets them collect, for that much added latency. A
 * partial batch also means the queue had nothing more to give: nothing is left waiting meanwhile.
 */
export function nextPause(
  handled: number,
  streak: number,
  options: Pick<PollLoopOptions, 'maxIdleMs' | 'minIdleMs' | 'fullBatch' | 'batchWaitMs' | 'maxErrorBackoffMs'>,
  random: () => number = Math.random,
): number {
  if (handled < 0) return backoffDelayMs(streak, 100, options.maxErrorBackoffMs ?? 5000, random);
  if (handled === 0) return backoffDelayMs(streak, options.minIdleMs ?? 20, options.maxIdleMs, random);
  if (options.fullBatch !== undefined && handled < options.fullBatch) return options.batchWaitMs ?? 0;
  return 0;
}

/**
 * Adaptive polling of an external queue: poll again at once while full batches come (and add
 * pollers up to `concurrency` meanwhile), wait batchWaitMs after a partial one; when empty, back
 * off from minIdleMs up to maxIdleMs; after a failure, from 100 ms up to maxErrorBackoffMs. Never throws: every failure goes to onError and the loop goes on.
 */
export function startPollLoop(options: PollLoopOptions): PollLoop {
  const stopping = new AbortController();
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const running = new Set<Promise<void>>();

  /** The first poller runs until stop(); an extra one only while it keeps getting full batches. */
  const run = async (extra: boolean) => {
    let streak = 0;
    while (!stopping.signal.aborted) {
      let handled: number;
      try {
        handled = await options.poll();
      } catch (err) {
        options.onError(err);
        handled = -1;
      }
      const full = options.fullBatch !== undefined && handled >= options.fullBatch;
      if (extra && !full) return;
      if (full && running.size < concurrency && !stopping.signal.aborted) start(true);
      streak = handled > 0 ? 0 : streak + 1;
      const pause = nextPause(handled, streak, options);
      if (pause > 0) await sleep(pause, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  };
  const start = (extra: boolean) => {
    const poller = run(extra).finally(() => running.delete(poller));
    running.add(poller);
  };
  start(false);

  return {
    stop: async () => {
      stopping.abort();
      while (running.size > 0) await Promise.all([...running]);
    },
    get pollers() {
      return running.size;
    },
  };
}
