export interface PeriodicTask {
  /** No further runs; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Runs `run` after `firstDelayMs`, then again `intervalMs` after each run has finished (runs never
 * overlap, and a slow run delays the next instead of piling up). `run` must not throw: it catches
 * and reports its own failures.
 */
export function startPeriodicTask(options: { firstDelayMs: number; intervalMs: number; run: () => Promise<void> }): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = options.run().finally(() => schedule(options.intervalMs));
    }, ms);
  };
  schedule(options.firstDelayMs);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
