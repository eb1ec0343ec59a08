import { setTimeout as sleep } from 'node:timers/promises';

export interface PollLoopOptions {
  /** One poll: returns how many messages it handled. */
  poll: () => Promise<number>;
  /** Longest pause between polls while the queue stays empty. */
  maxIdleMs: number;
  /** First pause after an empty poll; doubles while empty. */
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
  onError: (err: unknown) => void;
}

export interface PollLoop {
  /** Finishes the poll in progress, then stops. */
  stop(): Promise<void>;
}

/**
 * The pause before the next poll, after one that handled `handled` messages (-1: it failed).
 *
 * Why a partial batch waits: against a message queue service every receive is one HTTP round
 * trip whose cost hardly depends on how many messages it returns (Azurite: ~10 ms of its CPU for a
 * receive, ~0.2 ms per message in it). Polling again at once while messages trickle in costs one
 * receive per message; waiting `batchWaitMs` lets them collect, for that much added latency.
 */
export function nextPause(
  handled: number,
  previousPause: number,
  options: Pick<PollLoopOptions, 'maxIdleMs' | 'minIdleMs' | 'fullBatch' | 'batchWaitMs' | 'maxErrorBackoffMs'>,
): number {
  const minIdleMs = options.minIdleMs ?? 20;
  if (handled < 0) return Math.min(Math.max(previousPause * 2, 100), options.maxErrorBackoffMs ?? 5000);
  if (handled === 0) return Math.min(Math.max(previousPause * 2, minIdleMs), options.maxIdleMs);
  if (options.fullBatch !== undefined && handled < options.fullBatch) return options.batchWaitMs ?? 0;
  return 0;
}

/**
 * Adaptive polling of an external queue: poll again at once while full batches come, wait
 * batchWaitMs after a partial one; when empty, wait minIdleMs and double up to maxIdleMs; after a
 * failure, back off the same way up to maxErrorBackoffMs. Never throws: every failure goes to
 * onError and the loop goes on.
 */
export function startPollLoop(options: PollLoopOptions): PollLoop {
  const stopping = new AbortController();

  const run = async () => {
    let pause = 0;
    while (!stopping.signal.aborted) {
      let handled: number;
      try {
        handled = await options.poll();
      } catch (err) {
        options.onError(err);
        handled = -1;
      }
      pause = nextPause(handled, pause, options);
      if (pause > 0) await sleep(pause, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  };
  const running = run();

  return {
    stop: async () => {
      stopping.abort();
      await running;
    },
  };
}
