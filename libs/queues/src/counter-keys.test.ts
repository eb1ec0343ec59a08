import { describe, expect, it } from 'vitest';
import { counterField, parseCounterField, type CounterKey } from './counter-keys.js';
import { QUEUES } from './queue-names.js';

describe('counter keys', () => {
  const keys: CounterKey[] = [
    { kind: 'job', step: QUEUES.statusReceived, outcome: 'gave-up' },
    { kind: 'step-ms', step: QUEUES.allowed },
    { kind: 'reply', outcome: 'record-backup' },
    { kind: 'sends-held-back' },
    { kind: 'sends-held-back-ms' },
    { kind: 'reconcile', repair: 'readded:created' },
    { kind: 'pruned', table: 'idempotency_keys' },
    { kind: 'webhook', outcome: 'gave-up' },
  ];

  it.each(keys)('reads back what it writes: %j', (key) => {
    expect(parseCounterField(counterField(key))).toEqual(key);
  });

  it('writes the fields /healthz has always shown', () => {
    expect(keys.map(counterField)).toEqual([
      'jobs:status-received:gave-up',
      'ms:allowed',
      'replies:record-backup',
      'sends:held-back',
      'sends:held-back-ms',
      'reconcile:readded:created',
      'pruned:idempotency_keys',
      'webhooks:gave-up',
    ]);
  });

  it('ignores a field it does not know', () => {
    expect(parseCounterField('something:else')).toBeUndefined();
  });
});
