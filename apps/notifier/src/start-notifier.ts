import { setTimeout as sleep } from 'node:timers/promises';
import { AdvisoryLeadership, openPool, type Pool } from '@linebacker/db';
import { backoffDelayMs } from '@linebacker/domain';
import {
  WakeupPublisher,
  createProducerConnection,
  deliveryWakeupChannel,
  openCounters,
  subscribeToEventWakeups,
  subscribeToWakeups,
  type WakeupSubscription,
} from '@linebacker/queues';
import { startWakeableTask, type AppContext } from '@linebacker/runtime';
import { startDeliveries } from './deliver.js';
import { FanOut } from './fan-out.js';
import { postWebhook } from './post-webhook.js';

/** Whoever holds it fans events out (one notifier at a time; the others only deliver). */
const FAN_OUT_LOCK_KEY = 0x6c62_666f; // "lbfo"
/** A notifier that is not the fan-out leader tries to become it this often. */
const LEADERSHIP_RETRY_MS = 5000;
/** Events per fan-out pass. */
const FAN_OUT_PAGE = 500;

/**
 * The notifier (SPEC §7, §8): opens what it needs, each with its releaser, and starts the fan-out
 * (on the one notifier holding the fan-out lock) and the delivery loop (on every notifier). Ready
 * once Postgres answers: everything it does is in Postgres.
 */
export async function startNotifier(context: AppContext): Promise<void> {
  const { config, logger, onShutdown } = context;
  const pool = openPool(context, 'notifier');
  const counters = openCounters(context);

  const redis = createProducerConnection(config.redis, 'linebacker:notifier');
  redis.on('error', (err) => logger.debug({ err }, 'Redis connection error'));
  onShutdown('redis', () => redis.disconnect());
  const deliveryWakeups = new WakeupPublisher(redis, deliveryWakeupChannel(config.redis.queuePrefix));
  onShutdown('delivery wake-ups', () => deliveryWakeups.close());

  const deliveries = startDeliveries({
    pool,
    webhooks: config.webhooks,
    concurrency: config.notifier.concurrency,
    pollMs: config.notifier.pollMs,
    log: logger,
    counters,
    post: postWebhook,
  });
  // attempts in flight get most of the deadline, then are aborted and given back
  onShutdown('webhook deliveries', () => deliveries.stop(config.shutdownTimeoutMs - 2000));

  const leadership = new AdvisoryLeadership(config.database.url, FAN_OUT_LOCK_KEY, config.database.connectTimeoutMs);
  onShutdown('fan-out leadership', () => leadership.release());
  const fanOut = new FanOut({ db: pool, pageSize: FAN_OUT_PAGE, log: logger, counters });
  const onError = (err: Error) => logger.debug({ err }, 'Redis wake-up subscription error');
  // Event wake-ups are listened to only by the fan-out leader, and only while the last pass saw a
  // webhook endpoint. Without one, a pass only moves the position past events nobody is owed: it
  // runs on its poll, and an endpoint created meanwhile is not owed the events before it (its first
  // events are fanned out within pollMs, then wake-ups are listened to again). Unsubscribed, this
  // process is not woken by the ≤ 10 wake-ups a second of every committing process, and those
  // publish once a second while nobody listens (libs/queues wakeups.ts; issue 10).
  let eventWakeups: WakeupSubscription | undefined;
  const listenToEventWakeups = (wanted: boolean) => {
    if (wanted && !eventWakeups) eventWakeups = subscribeToEventWakeups(config.redis, () => fanOutTask.wake(), onError);
    if (!wanted && eventWakeups) {
      eventWakeups.close();
      eventWakeups = undefined;
    }
  };
  // (registered before the fan-out: released after it stopped, so no pass subscribes again)
  onShutdown('event wake-up subscription', () => listenToEventWakeups(false));
  let triedAt = 0;
  const fanOutTask = startWakeableTask({
    pollMs: config.notifier.pollMs,
    minGapMs: config.notifier.fanOutGapMs,
    run: async () => {
      if (!leadership.isLeader) {
        listenToEventWakeups(false);
        if (Date.now() - triedAt < LEADERSHIP_RETRY_MS) return false;
        triedAt = Date.now();
        if (!(await leadership.tryAcquire())) return false;
        logger.info('this notifier now fans events out to webhook endpoints');
      }
      try {
        const { inserted, more } = await fanOut.pass();
        listenToEventWakeups(!fanOut.sawNoEndpoint);
        if (inserted > 0) {
          deliveries.wake();
          deliveryWakeups.notify();
        }
        return more;
      } catch (err) {
        logger.warn({ err }, 'fan-out failed; trying again');
        return false;
      }
    },
  });
  onShutdown('fan-out', () => fanOutTask.stop());

  const due = subscribeToWakeups(config.redis, deliveryWakeupChannel(config.redis.queuePrefix), () => deliveries.wake(), {
    connectionName: 'linebacker:delivery-wakeups:subscriber',
    onError,
  });
  onShutdown('delivery wake-up subscription', () => due.close());
  await untilPostgresAnswers(context, pool);
}

async function untilPostgresAnswers({ logger, isShuttingDown }: AppContext, pool: Pool): Promise<void> {
  for (let attempt = 1; !isShuttingDown(); attempt += 1) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (err) {
      if (attempt === 1) logger.warn({ err }, 'Postgres does not answer yet: waiting before saying ready');
      await sleep(backoffDelayMs(attempt, 200, 5000));
    }
  }
}
