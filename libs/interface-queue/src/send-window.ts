import { setTimeout as sleep } from 'node:timers/promises';

export interface SendWindowOptions {
  /** How many messages the protected interface queues hold now (both directions, invisible ones too). */
  readDepth: () => Promise<number>;
  /** Most messages those queues may hold before sends wait. */
  maxDepth: number;
  /** Pause between two depth readings while sends happen or wait. */
  sampleMs: number;
  /** A depth reading failed: the waiting sends are let through (they will meet the outage themselves). */
  onError: (err: unknown) => void;
  /** A send had to wait for room, this long. */
  onHeldBack?: (waitedMs: number) => void;
}

export interface SendWindowState {
  /** The depth last read plus this process's sends in flight or finished since that reading began. */
  estimatedDepth: number;
  /** Sends waiting for room now. */
  waiting: number;
}

export interface SendWindow {
  /**
   * Resolves when one more message may be sent, with the function to call once the send is over
   * (whether it succeeded or not). The message counts towards the depth from then on.
   */
  acquire(): Promise<() => void>;
  state(): SendWindowState;
  /** Lets every waiting send through and stops reading the depth. */
  stop(): void;
}

/**
 * Flow control on the interface leg (issue 10): sends go out only while the interface queues hold
 * fewer than `maxDepth` messages, so the backlog waits in BullMQ (cheap) instead of in the queue
 * service, where every operation gets slower with the messages it holds (Azurite scans them; a
 * queue of a few hundred made each call take 0.4–1.9 s and the pipeline collapse). The request
 * queue's depth says how far the interface is behind taking requests, the status queue's how far
 * linebacker is behind taking replies: both are signs to slow down.
 *
 * The depth is read every `sampleMs`, but only while the estimate (the last reading plus this
 * process's sends in flight or finished since that reading began) is at least half the window or
 * sends wait: far from the limit nothing needs to be known more precisely, and each reading is a
 * call to the queue service (two, one per queue). So one process never overshoots (a send in flight
 * during a reading may be counted twice until the next one: on the safe side); several processes
 * share the readings' view only, and each may overshoot by the sends it lets through in one
 * `sampleMs`. When nothing is sent, nothing is read.
 */
export function createSendWindow(options: SendWindowOptions): SendWindow {
  let depth = 0;
  let inFlight = 0;
  let finishedSinceReading = 0;
  let sampling = false;
  let stopped = false;
  const waiters: (() => void)[] = [];

  const estimatedDepth = () => depth + inFlight + finishedSinceReading;
  const finished = () => {
    inFlight--;
    finishedSinceReading++;
  };
  const admit = (): (() => void) => {
    inFlight++;
    let done = false;
    return () => {
      if (!done) finished();
      done = true;
    };
  };
  const admitWaiters = (always: boolean) => {
    while (waiters.length > 0 && (always || estimatedDepth() < options.maxDepth)) waiters.shift()!();
  };

  const sample = async () => {
    sampling = true;
    try {
      while (!stopped && (waiters.length > 0 || estimatedDepth() >= options.maxDepth / 2)) {
        const finishedBefore = finishedSinceReading;
        try {
          depth = await options.readDepth();
          finishedSinceReading -= finishedBefore;
          admitWaiters(false);
        } catch (err) {
          options.onError(err);
          depth = 0;
          finishedSinceReading = 0;
          admitWaiters(true);
        }
        await sleep(options.sampleMs);
      }
    } finally {
      sampling = false;
    }
  };
  const ensureSampling = () => {
    if (!sampling && !stopped && (waiters.length > 0 || estimatedDepth() >= options.maxDepth / 2)) void sample();
  };

  return {
    acquire: () => {
      if (stopped || (waiters.length === 0 && estimatedDepth() < options.maxDepth)) {
        const release = admit();
        ensureSampling();
        return Promise.resolve(release);
      }
      const since = performance.now();
      const admitted = new Promise<() => void>((resolve) =>
        waiters.push(() => {
          options.onHeldBack?.(performance.now() - since);
          resolve(admit());
        }),
      );
      ensureSampling();
      return admitted;
    },
    state: () => ({ estimatedDepth: estimatedDepth(), waiting: waiters.length }),
    stop: () => {
      stopped = true;
      admitWaiters(true);
    },
  };
}
