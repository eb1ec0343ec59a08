import { setTimeout as sleep } from 'node:timers/promises';
import type { OutboundBackupRequest } from '@linebacker/domain';
import { startPollLoop, type InterfaceQueues, type ReceivedMessage } from '@linebacker/interface-queue';
import { withTimeout, type Logger } from '@linebacker/runtime';
import { simulatedOutcome } from './simulated-outcome.js';
import { replyFor } from './simulate-reply.js';

export interface SimulatorSettings {
  /** Share of requests answered with a Failed reply (0–1). */
  failureRatio: number;
  /** Share of requests answered with a reply that fails validation (0–1). */
  malformedRatio: number;
  /** How long the simulated backup takes before its reply is sent. */
  delayMs: number;
  /** Messages per receive, 1–32 (default 32). */
  batchSize?: number;
  /** Replies being prepared at once; receiving pauses at this bound (default 1,000). */
  maxInFlight?: number;
  /** Pause after a receive that returned a partial batch, so the next one is fuller (default 50 ms). */
  batchWaitMs?: number;
  /** Most receives at once while requests wait (default 4; one while idle). */
  concurrency?: number;
  /** Longest pause between polls while the request queue is empty (default 500 ms). */
  maxIdlePollMs?: number;
  /** How long stop() waits for the replies in flight (default 5,000 ms). */
  stopTimeoutMs?: number;
}

export interface SimulatorDependencies {
  queues: Pick<InterfaceQueues, 'requests' | 'statuses'>;
  settings: SimulatorSettings;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** The time written into replies (default: the system clock). */
  clock?: () => Date;
}

export interface InterfaceSimulator {
  /** Stops receiving, then waits (bounded by stopTimeoutMs) for the replies in flight. */
  stop(): Promise<void>;
}

/** Azure's visibility timeout while a request is being answered, when delayMs is short. */
const MIN_VISIBILITY_TIMEOUT_S = 30;
/** How many request ids are remembered for the duplicate warning (oldest forgotten first). */
const MAX_REMEMBERED_IDS = 100_000;

/**
 * The stand-in for the external backup interface (SPEC §1): reads the outbound request queue and
 * answers each request on the status queue after `delayMs`, with a fate decided by the request id
 * (simulatedOutcome). At-least-once like the real thing: the reply is sent first and the request
 * deleted after, so a crash in between answers the request twice; a failed send leaves the request
 * to reappear after its visibility timeout and be answered then.
 *
 * The poll loop never waits for a reply: each message is answered on its own, up to maxInFlight at
 * once. When the queue service is unreachable the loop logs and backs off (startPollLoop).
 */
export function startInterfaceSimulator({ queues, settings, logger, clock = () => new Date() }: SimulatorDependencies): InterfaceSimulator {
  const batchSize = settings.batchSize ?? 32;
  const maxInFlight = settings.maxInFlight ?? 1_000;
  const stopTimeoutMs = settings.stopTimeoutMs ?? 5_000;
  // a request must stay invisible for the whole simulated backup, or it comes back as a duplicate
  const visibilityTimeoutSeconds = Math.max(MIN_VISIBILITY_TIMEOUT_S, Math.ceil(settings.delayMs / 1000) + MIN_VISIBILITY_TIMEOUT_S);

  const inFlight = new Set<Promise<void>>();
  const seen = new Map<string, number>();
  const stopping = new AbortController();
  /** Aborted when stop() gives up waiting: replies still waiting out their delay are dropped. */
  const abandoned = new AbortController();
  /** Pollers waiting for a reply in flight to finish (several, with concurrent receives). */
  const slotWaiters = new Set<() => void>();

  const remember = (backupRequestId: string): number => {
    const times = (seen.get(backupRequestId) ?? 0) + 1;
    seen.delete(backupRequestId);
    seen.set(backupRequestId, times);
    if (seen.size > MAX_REMEMBERED_IDS) {
      const oldest = seen.keys().next();
      if (!oldest.done) seen.delete(oldest.value);
    }
    return times;
  };

  const answer = async (message: ReceivedMessage): Promise<void> => {
    const outbound = parseOutbound(message.text);
    if (!outbound) {
      logger.warn({ messageId: message.messageId, text: message.text.slice(0, 200) }, 'unparseable backup request deleted');
      await queues.requests.delete(message);
      return;
    }
    const { backupRequestId, traceId } = outbound;
    const times = remember(backupRequestId);
    if (times > 1) logger.warn({ backupRequestId, times }, 'duplicate backup request');

    if (settings.delayMs > 0) await sleep(settings.delayMs, undefined, { signal: abandoned.signal });
    const outcome = simulatedOutcome(backupRequestId, settings.failureRatio, settings.malformedRatio);
    await queues.statuses.send(replyFor(outbound, outcome, clock()));
    const deleted = await queues.requests.delete(message);
    logger.debug({ backupRequestId, traceId, outcome, deleted }, 'replied');
  };

  const start = (message: ReceivedMessage): void => {
    const handling = answer(message)
      .catch((err: unknown) => {
        if (abandoned.signal.aborted) return;
        // not deleted: the request reappears after its visibility timeout and is answered then
        logger.warn({ err, messageId: message.messageId }, 'could not answer backup request, it will come back');
      })
      .finally(() => {
        inFlight.delete(handling);
        for (const wake of slotWaiters) wake();
      });
    inFlight.add(handling);
  };

  /** Resolves when a reply in flight finishes or the simulator stops. */
  const freeSlot = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        slotWaiters.delete(done);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      slotWaiters.add(done);
      stopping.signal.addEventListener('abort', done);
    });

  const poll = async (): Promise<number> => {
    const free = maxInFlight - inFlight.size;
    if (free <= 0) {
      await freeSlot();
      return batchSize; // not idle: receive again as soon as there is room
    }
    const messages = await queues.requests.receive(Math.min(batchSize, free), visibilityTimeoutSeconds);
    // even when stop() was called meanwhile: these are in flight now, and stop() waits for them
    for (const message of messages) start(message);
    return messages.length;
  };

  const loop = startPollLoop({
    poll,
    maxIdleMs: settings.maxIdlePollMs ?? 500,
    fullBatch: batchSize,
    batchWaitMs: settings.batchWaitMs ?? 50,
    concurrency: settings.concurrency ?? 4,
    onError: (err) => logger.warn({ err, queue: queues.requests.name }, 'cannot receive backup requests, retrying'),
  });
  logger.info(
    { requestQueue: queues.requests.name, statusQueue: queues.statuses.name, ...settings, visibilityTimeoutSeconds },
    'interface simulator started',
  );

  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    stopping.abort();
    await loop.stop();
    if (inFlight.size === 0) return;
    const clean = await withTimeout(Promise.allSettled([...inFlight]).then(() => true), stopTimeoutMs, false);
    if (!clean) {
      logger.warn({ inFlight: inFlight.size }, 'stopped before every reply was sent: those requests come back after their visibility timeout');
      abandoned.abort();
    }
  };
  return { stop: () => (stopped ??= stop()) };
}

/**
 * Reads an outbound message (SPEC §4) as far as the simulator needs it: a JSON object with a
 * backupRequestId and a storagePathName. Undefined when it is not one.
 */
export function parseOutbound(text: string): OutboundBackupRequest | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const { backupRequestId, storagePathName } = json as Partial<Record<keyof OutboundBackupRequest, unknown>>;
  if (typeof backupRequestId !== 'string' || backupRequestId === '') return undefined;
  if (typeof storagePathName !== 'string') return undefined;
  return json as OutboundBackupRequest;
}
