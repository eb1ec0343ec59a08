import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { INTERFACE_API_VERSION, parseStatusReply, type OutboundBackupRequest } from '@linebacker/domain';
import type { MessageQueue, ReceivedMessage } from '@linebacker/interface-queue';
import { afterEach, describe, expect, it } from 'vitest';
import { parseOutbound, startInterfaceSimulator, type InterfaceSimulator, type SimulatorSettings } from './interface-simulator.js';
import { simulatedOutcome } from './simulated-outcome.js';

/** A queue in memory: enough of Azure's behaviour (invisible while received, pop receipts) for the loop. */
class MemoryQueue implements MessageQueue {
  readonly messages: { messageId: string; popReceipt: string; text: string; dequeueCount: number; visibleAt: number }[] = [];
  failReceives = 0;
  receiveCalls = 0;
  constructor(readonly name: string) {}
  ensureExists(): Promise<void> {
    return Promise.resolve();
  }
  send(text: string): Promise<void> {
    this.messages.push({ messageId: randomUUID(), popReceipt: '', text, dequeueCount: 0, visibleAt: 0 });
    return Promise.resolve();
  }
  receive(max: number, visibilityTimeoutSeconds: number): Promise<ReceivedMessage[]> {
    this.receiveCalls += 1;
    if (this.failReceives > 0) {
      this.failReceives -= 1;
      return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    }
    const now = Date.now();
    const visible = this.messages.filter((m) => m.visibleAt <= now).slice(0, max);
    for (const m of visible) {
      m.visibleAt = now + visibilityTimeoutSeconds * 1000;
      m.popReceipt = randomUUID();
      m.dequeueCount += 1;
    }
    return Promise.resolve(visible.map(({ messageId, popReceipt, text, dequeueCount }) => ({ messageId, popReceipt, text, dequeueCount })));
  }
  delete({ messageId, popReceipt }: Pick<ReceivedMessage, 'messageId' | 'popReceipt'>): Promise<boolean> {
    const index = this.messages.findIndex((m) => m.messageId === messageId && m.popReceipt === popReceipt);
    if (index >= 0) this.messages.splice(index, 1);
    return Promise.resolve(index >= 0);
  }
  approximateCount(): Promise<number> {
    return Promise.resolve(this.messages.length);
  }
}

interface LogLine {
  level: string;
  fields: unknown;
  message: unknown;
}

function recordingLogger(lines: LogLine[]) {
  const at =
    (level: string) =>
    (fields: unknown, message?: unknown): void => {
      lines.push({ level, fields, message });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function outbound(backupRequestId = randomUUID()): OutboundBackupRequest {
  return {
    apiVersion: INTERFACE_API_VERSION,
    backupRequestId,
    backupJobId: 'job-1',
    dataDate: '2025-01-01',
    preparedDataPathName: '/prepared/job-1',
    storagePathName: '/store/job-1',
    backupProviderCode: 'Local',
    requestedAt: new Date().toISOString(),
    traceId: randomUUID(),
  };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

let simulator: InterfaceSimulator | undefined;
afterEach(async () => {
  await simulator?.stop();
  simulator = undefined;
});

function start(settings: Partial<SimulatorSettings> = {}) {
  const requests = new MemoryQueue('requests');
  const statuses = new MemoryQueue('statuses');
  const lines: LogLine[] = [];
  simulator = startInterfaceSimulator({
    queues: { requests, statuses },
    settings: { failureRatio: 0.3, malformedRatio: 0.2, delayMs: 0, maxIdlePollMs: 20, ...settings },
    logger: recordingLogger(lines),
  });
  return { requests, statuses, lines };
}

describe('interface simulator loop', () => {
  it('answers every request with its predicted fate, then deletes the request', async () => {
    const { requests, statuses } = start();
    const sent = Array.from({ length: 100 }, () => outbound());
    for (const message of sent) await requests.send(JSON.stringify(message));

    await until(() => statuses.messages.length === 100 && requests.messages.length === 0);
    for (const message of sent) {
      const reply = statuses.messages.find((m) => m.text.includes(message.backupRequestId));
      expect(reply).toBeDefined();
      const parsed = parseStatusReply(reply?.text ?? '');
      const expected = simulatedOutcome(message.backupRequestId, 0.3, 0.2);
      if (expected === 'Malformed') expect(parsed.ok).toBe(false);
      else expect(parsed).toMatchObject({ ok: true, reply: { resultTypeCode: expected, backupRequestId: message.backupRequestId } });
    }
  });

  it('deletes an unparseable request without answering it', async () => {
    const { requests, statuses, lines } = start();
    await requests.send('{ not json');
    await requests.send(JSON.stringify({ hello: 'world' }));
    await until(() => requests.messages.length === 0);
    expect(statuses.messages).toHaveLength(0);
    expect(lines.filter((l) => l.message === 'unparseable backup request deleted')).toHaveLength(2);
  });

  it('answers a duplicate again, with the same fate, and warns about it', async () => {
    const { requests, statuses, lines } = start({ failureRatio: 0.5, malformedRatio: 0 });
    const message = outbound();
    await requests.send(JSON.stringify(message));
    await until(() => statuses.messages.length === 1);
    await requests.send(JSON.stringify(message));
    await until(() => statuses.messages.length === 2);

    const fates = statuses.messages.map((m) => (JSON.parse(m.text) as { resultTypeCode: string }).resultTypeCode);
    expect(fates[0]).toBe(fates[1]);
    expect(lines).toContainEqual({
      level: 'warn',
      fields: { backupRequestId: message.backupRequestId, times: 2 },
      message: 'duplicate backup request',
    });
  });

  it('keeps at most maxInFlight requests in flight while their delay runs', async () => {
    const { requests, statuses } = start({ delayMs: 200, maxInFlight: 5 });
    for (let i = 0; i < 12; i++) await requests.send(JSON.stringify(outbound()));
    await sleep(100);
    const invisible = requests.messages.filter((m) => m.dequeueCount > 0);
    expect(invisible).toHaveLength(5);
    expect(statuses.messages).toHaveLength(0);
    await until(() => statuses.messages.length === 12);
  });

  it('keeps polling after the queue service fails', async () => {
    const { requests, statuses, lines } = start();
    requests.failReceives = 2;
    await requests.send(JSON.stringify(outbound()));
    await until(() => statuses.messages.length === 1);
    expect(lines.filter((l) => l.message === 'cannot receive backup requests, retrying')).toHaveLength(2);
  });

  it('stop() waits for the replies in flight', async () => {
    const { requests, statuses } = start({ delayMs: 150 });
    for (let i = 0; i < 3; i++) await requests.send(JSON.stringify(outbound()));
    await until(() => requests.messages.every((m) => m.dequeueCount > 0));
    await simulator?.stop();
    expect(statuses.messages).toHaveLength(3);
    expect(requests.messages).toHaveLength(0);
  });

  it('stop() gives up after stopTimeoutMs, leaving the request to come back', async () => {
    const { requests, statuses } = start({ delayMs: 10_000, stopTimeoutMs: 100 });
    await requests.send(JSON.stringify(outbound()));
    await until(() => requests.messages.every((m) => m.dequeueCount > 0));
    const started = Date.now();
    await simulator?.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(statuses.messages).toHaveLength(0);
    expect(requests.messages).toHaveLength(1);
  });
});

describe('parseOutbound', () => {
  it('accepts an outbound message and rejects what is not one', () => {
    const message = outbound();
    expect(parseOutbound(JSON.stringify(message))).toEqual(message);
    for (const text of ['', 'null', '[]', '"x"', '{}', JSON.stringify({ backupRequestId: 'x' }), '{ broken']) {
      expect(parseOutbound(text)).toBeUndefined();
    }
  });
});
