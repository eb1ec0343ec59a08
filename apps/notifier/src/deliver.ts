import type { Logger } from 'pino';
import type { WebhookConfig } from '@linebacker/config';
import { claimDeliveries, recordAttemptFailed, recordDelivered, releaseDeliveries, type ClaimedDelivery, type Pool } from '@linebacker/db';
import { backoffDelayMs, formatEventId, openWebhookSecret, webhookHeaders, webhookSecretKey } from '@linebacker/domain';
import type { PipelineCounters } from '@linebacker/queues';
import { startWakeableTask } from '@linebacker/runtime';
import type { PostOutcome } from './post-webhook.js';

/** A lease outlives the attempt's timeout by this much: time to record the outcome. */
export const LEASE_MARGIN_MS = 5000;

export interface DeliveryDeps {
  pool: Pool;
  webhooks: WebhookConfig;
  /** Attempts in flight in this process. */
  concurrency: number;
  pollMs: number;
  log: Logger;
  counters?: Pick<PipelineCounters, 'add'>;
  /** One HTTP attempt (post-webhook.ts). */
  post: (url: string, headers: Record<string, string>, body: string, options: { allowPrivate: boolean; signal: AbortSignal }) => Promise<PostOutcome>;
}

export interface Deliveries {
  /** Claim again now (new deliveries were fanned out). */
  wake(): void;
  /**
   * Stop claiming; wait up to `waitMs` for the attempts in flight, then abort the rest and give
   * their deliveries back (due again at once, for another notifier or the next start).
   */
  stop(waitMs: number): Promise<void>;
}

/** The status code of a 2xx answer, else undefined. */
const delivered = (outcome: PostOutcome): number | undefined =>
  outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300 ? outcome.statusCode : undefined;

/**
 * The delivery loop of one notifier (SPEC §8): claims due deliveries (at most `concurrency` in
 * flight here, at most `endpointConcurrency` per endpoint across notifiers: libs/db
 * claimDeliveries), attempts each with the Standard Webhooks headers under its own timeout, and
 * records the outcome: a 2xx within LINEBACKER_WEBHOOK_TIMEOUT_MS is delivered; anything else is
 * retried after min(start × 3^(attempt-1), max) with jitter (libs/domain backoffDelayMs) until the
 * delivery is LINEBACKER_WEBHOOK_MAX_AGE_MS old, then failed. A slow or dead endpoint only ever
 * holds its own few slots, so the others go on being served.
 *
 * Crash-safe: a claim is a lease in Postgres; if this process dies, the lease ends and another
 * notifier (or this one restarted) attempts the delivery again — at least once, never lost.
 */
export function startDeliveries(deps: DeliveryDeps): Deliveries {
  const { webhooks, log } = deps;
  const secretKey = webhookSecretKey(webhooks.secretKey);
  const inFlight = new Map<string, { delivery: ClaimedDelivery; abort: AbortController; done: Promise<void> }>();
  let stopping = false;

  const record = async (delivery: ClaimedDelivery, outcome: PostOutcome) => {
    const attemptLog = log.child({ endpointId: delivery.endpointId, eventId: formatEventId(delivery.eventId), attempt: delivery.attempts });
    const statusCode = delivered(outcome);
    if (statusCode !== undefined) {
      if (await recordDelivered(deps.pool, delivery, statusCode)) deps.counters?.add({ kind: 'webhook', outcome: 'delivered' });
      attemptLog.debug({ statusCode }, 'webhook delivered');
      return;
    }
    const error = 'error' in outcome ? outcome.error : `answered ${outcome.statusCode}`;
    const retryInMs = backoffDelayMs(delivery.attempts, webhooks.retryStartMs, webhooks.retryMaxMs);
    const recorded = await recordAttemptFailed(deps.pool, delivery, { statusCode: outcome.statusCode, error, retryInMs, maxAgeMs: webhooks.maxAgeMs });
    if (!recorded) return;
    deps.counters?.add({ kind: 'webhook', outcome: recorded.gaveUp ? 'gave-up' : 'attempt-failed' });
    if (recorded.gaveUp) attemptLog.warn({ error }, 'webhook delivery failed for good: retried for LINEBACKER_WEBHOOK_MAX_AGE_MS');
    else attemptLog.debug({ error, retryInMs }, 'webhook attempt failed; retrying');
  };

  const attempt = async (delivery: ClaimedDelivery, abort: AbortController) => {
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${webhooks.timeoutMs} ms`)), webhooks.timeoutMs);
    let outcome: PostOutcome;
    try {
      const secret = openWebhookSecret(delivery.storedSecret, delivery.endpointId, secretKey);
      const headers = webhookHeaders(secret, formatEventId(delivery.eventId), delivery.body);
      outcome = await deps.post(delivery.url, headers, delivery.body, { allowPrivate: webhooks.allowPrivate, signal: abort.signal });
    } catch (err) {
      outcome = { statusCode: null, error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
    // aborted by stop(): given back there, not recorded as an attempt
    if (stopping && abort.signal.aborted && outcome.statusCode === null) return;
    try {
      await record(delivery, outcome);
    } catch (err) {
      // Postgres unavailable: the lease runs out and the delivery is attempted again (at least once)
      log.warn({ err, endpointId: delivery.endpointId }, 'could not record a webhook attempt; it will be made again');
    }
  };

  const task = startWakeableTask({
    pollMs: deps.pollMs,
    // completions come in bursts: one claim for those of the last few milliseconds
    minGapMs: 20,
    run: async () => {
      const free = deps.concurrency - inFlight.size;
      if (stopping || free <= 0) return false;
      let claimed: ClaimedDelivery[];
      try {
        claimed = await claimDeliveries(deps.pool, { max: free, perEndpoint: webhooks.endpointConcurrency, leaseMs: webhooks.timeoutMs + LEASE_MARGIN_MS });
      } catch (err) {
        log.warn({ err }, 'could not claim webhook deliveries; trying again');
        return false;
      }
      for (const delivery of claimed) {
        const abort = new AbortController();
        const done = attempt(delivery, abort).finally(() => {
          inFlight.delete(delivery.deliveryId);
          task.wake();
        });
        inFlight.set(delivery.deliveryId, { delivery, abort, done });
      }
      // a full claim: more may be due
      return claimed.length === free;
    },
  });

  return {
    wake: () => task.wake(),
    stop: async (waitMs) => {
      stopping = true;
      await task.stop();
      const all = () => Promise.all([...inFlight.values()].map((entry) => entry.done));
      await Promise.race([all(), new Promise((resolve) => setTimeout(resolve, Math.max(waitMs, 0)).unref())]);
      const left = [...inFlight.values()];
      for (const entry of left) entry.abort.abort(new Error('the notifier is shutting down'));
      await all();
      await releaseDeliveries(deps.pool, left.map((entry) => entry.delivery)).catch((err: unknown) =>
        log.warn({ err }, 'could not give back webhook deliveries; their leases run out instead'),
      );
      if (left.length > 0) log.info({ released: left.length }, 'gave back webhook deliveries still in flight');
    },
  };
}
