export interface WakeableTask {
  /** Run soon: at once if idle, else once more right after the run in progress. */
  wake(): void;
  /** No further runs; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Runs `run` when woken (a wake-up from Redis pub/sub, a local event) and at the latest `pollMs`
 * after the previous run, so a lost wake-up only delays it. Runs never overlap, and one starts at
 * least `minGapMs` after the previous one ended: wakes during a run or within that gap become one
 * run at its end (wake-ups come in bursts; under load a reader then reads a page per gap instead of
 * a few rows per wake-up). When `run` resolves true (a full page: more work is waiting) it runs
 * again after `minGapMs`. `run` must not throw: it catches and reports its own failures (a throw is
 * swallowed, and the next poll runs).
 */
export function startWakeableTask(options: { run: () => Promise<boolean | void>; pollMs: number; minGapMs?: number }): WakeableTask {
  const minGapMs = options.minGapMs ?? 10;
  let running: Promise<void> | undefined;
  let endedAt = -Infinity;
  let wokenDuringRun = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(start, ms);
  };
  const start = () => {
    if (stopped) return;
    if (running) {
      wokenDuringRun = true;
      return;
    }
    const gapLeft = endedAt + minGapMs - performance.now();
    if (gapLeft > 0) {
      schedule(gapLeft);
      return;
    }
    clearTimeout(timer);
    wokenDuringRun = false;
    running = (async () => {
      let more = false;
      try {
        more = (await options.run()) === true;
      } catch {
        // run reports its own failures; the next poll tries again
      }
      running = undefined;
      endedAt = performance.now();
      schedule(more || wokenDuringRun ? minGapMs : options.pollMs);
    })();
  };
  schedule(0);
  return {
    wake: start,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
