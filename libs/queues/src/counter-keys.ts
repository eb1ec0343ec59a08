import type { QueueName } from './queue-names.js';

/**
 * Every pipeline counter, as the processes that count write it and /metrics reads it back: the
 * one definition of the fields of the counters hash (pipeline-counters.ts). /healthz shows the
 * fields as they are (e.g. "jobs:check-allowed:done"), so their text is a contract too.
 */
export type CounterKey =
  /** jobs of a step by outcome */
  | { kind: 'job'; step: QueueName; outcome: 'done' | 'no-op' | 'retried' | 'gave-up' }
  /** time spent in a step, in ms */
  | { kind: 'step-ms'; step: QueueName }
  /** replies taken from the interface (received, poisoned) and how receive-status applied them */
  | { kind: 'reply'; outcome: string }
  /** sends that waited for room in the interface queues, and how long in ms */
  | { kind: 'sends-held-back' }
  | { kind: 'sends-held-back-ms' }
  /** what reconciliation repaired */
  | { kind: 'reconcile'; repair: 'readded:created' | 'readded:allowed' | 'readded:status-received' | 'timed-out' }
  /** rows the leader deleted after their retention, by table */
  | { kind: 'pruned'; table: string }
  /** webhook deliveries: fanned out (created), delivered, attempts that failed, given up after the retry window */
  | { kind: 'webhook'; outcome: 'fanned-out' | 'delivered' | 'attempt-failed' | 'gave-up' };

export function counterField(key: CounterKey): string {
  switch (key.kind) {
    case 'job':
      return `jobs:${key.step}:${key.outcome}`;
    case 'step-ms':
      return `ms:${key.step}`;
    case 'reply':
      return `replies:${key.outcome}`;
    case 'sends-held-back':
      return 'sends:held-back';
    case 'sends-held-back-ms':
      return 'sends:held-back-ms';
    case 'reconcile':
      return `reconcile:${key.repair}`;
    case 'pruned':
      return `pruned:${key.table}`;
    case 'webhook':
      return `webhooks:${key.outcome}`;
  }
}

/** The key of a field of the counters hash; undefined for a field no version of linebacker writes. */
export function parseCounterField(field: string): CounterKey | undefined {
  const [head, ...rest] = field.split(':');
  const tail = rest.join(':');
  switch (head) {
    case 'jobs': {
      const at = tail.lastIndexOf(':');
      return { kind: 'job', step: tail.slice(0, at) as QueueName, outcome: tail.slice(at + 1) as 'done' };
    }
    case 'ms':
      return { kind: 'step-ms', step: tail as QueueName };
    case 'replies':
      return { kind: 'reply', outcome: tail };
    case 'sends':
      return tail === 'held-back' ? { kind: 'sends-held-back' } : tail === 'held-back-ms' ? { kind: 'sends-held-back-ms' } : undefined;
    case 'reconcile':
      return { kind: 'reconcile', repair: tail as 'timed-out' };
    case 'pruned':
      return { kind: 'pruned', table: tail };
    case 'webhooks':
      return { kind: 'webhook', outcome: tail as 'delivered' };
    default:
      return undefined;
  }
}
