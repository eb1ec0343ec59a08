import { setTimeout as sleep } from 'node:timers/promises';

export interface PollLoopOptions {
  /** One poll: returns how many messages it handled. */
  poll: () => Promise<number>;
  /** Longest pause between polls while the queue stays empty. */
  maxIdleMs: number;
  /** First pause after an empty poll; doubles while empty. */
  minIdleMs?: number;
  /** Longest pause after failing polls (the queue service or a dependency is down). */
  maxErrorBackoffMs?: number;
  onError: (err: unknown) => void;
}

export interface PollLoop {
  /** Finishes the poll in progress, then stops. */
  stop(): Promise<void>;
}

/**
 * Adaptive polling of an external queue: poll again at once while messages come; when empty, wait
 * minIdleMs and double up to maxIdleMs; after a failure, back off the same way up to
 * maxErrorBackoffMs. Never throws: every failure goes to onError and the loop goes on.
 */
export function startPollLoop(options: PollLoopOptions): PollLoop {
  const minIdleMs = options.minIdleMs ?? 20;
  const maxErrorBackoffMs = options.maxErrorBackoffMs ?? 5000;
  const stopping = new AbortController();

  const run = async () => {
    let pause = 0;
    while (!stopping.signal.aborted) {
      try {
        const handled = await options.poll();
        pause = handled > 0 ? 0 : Math.min(Math.max(pause * 2, minIdleMs), options.maxIdleMs);
      } catch (err) {
        options.onError(err);
        pause = Math.min(Math.max(pause * 2, 100), maxErrorBackoffMs);
      }
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
