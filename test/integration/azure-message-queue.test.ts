import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyUnavailableError, PermanentError } from '@linebacker/domain';
import { createAzureMessageQueue, type MessageQueue, type ReceivedMessage } from '@linebacker/interface-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../support/azurite.js';

/** Generous bound for a failed call with the service down (measured: a few ms; see the log line). */
const DOWN_FAILURE_BOUND_MS = 15_000;

/** A queue name of its own (Azure: 3–63 lowercase letters, digits and single hyphens). */
function queueName(): string {
  return `t-${randomBytes(8).toString('hex')}`;
}

/** Receives until a message shows up or `withinMs` passes (for messages whose visibility returns). */
async function receiveOneWithin(queue: MessageQueue, withinMs: number): Promise<ReceivedMessage | undefined> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const [message] = await queue.receive(1, 30);
    if (message) return message;
    await sleep(100);
  }
  return undefined;
}

/** How long `call` takes to reject, and with what. */
async function timeRejection(call: () => Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const started = performance.now();
  try {
    await call();
  } catch (err) {
    return { ms: performance.now() - started, err };
  }
  throw new Error('expected the call to reject');
}

describe('Azure message queue on Azurite', () => {
  let azurite: Azurite;

  /** A fresh, existing queue on the shared Azurite. */
  async function freshQueue(): Promise<MessageQueue> {
    const queue = createAzureMessageQueue(azurite.connectionString, queueName());
    await queue.ensureExists();
    return queue;
  }

  beforeAll(async () => {
    azurite = await startAzurite();
  });

  afterAll(async () => {
    await azurite?.stop();
  });

  it('ensureExists is idempotent', async () => {
    const queue = createAzureMessageQueue(azurite.connectionString, queueName());
    await queue.ensureExists();
    await queue.ensureExists();
    expect(await queue.approximateCount()).toBe(0);
  });

  it('send then receive returns the text as sent, with dequeueCount 1', async () => {
    const queue = await freshQueue();
    // XML-special characters, non-ASCII, an astral-plane character and a JSON escape survive as is
    const text = JSON.stringify({ backupRequestId: 'r-1', note: `<a href="x">&amp;</a> 'ünï' 😀 \u0001` });
    await queue.send(text);

    const received = await queue.receive(1, 30);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ text, dequeueCount: 1 });
    expect(received[0]?.messageId).toEqual(expect.any(String));
    expect(received[0]?.popReceipt).toEqual(expect.any(String));
  });

  it('a received message is invisible until its visibility timeout, then comes back with dequeueCount 2', async () => {
    const queue = await freshQueue();
    await queue.send('{"n":1}');

    const [first] = await queue.receive(1, 1);
    const receivedAt = Date.now();
    expect(first?.dequeueCount).toBe(1);
    expect(await queue.receive(32, 30)).toEqual([]);

    const again = await receiveOneWithin(queue, 5_000);
    expect(Date.now() - receivedAt).toBeGreaterThanOrEqual(900);
    expect(again).toMatchObject({ messageId: first?.messageId, text: '{"n":1}', dequeueCount: 2 });
    expect(again?.popReceipt).not.toBe(first?.popReceipt);
  });

  it('delete with the current receipt resolves true and the message is gone', async () => {
    const queue = await freshQueue();
    await queue.send('{"n":2}');
    const [message] = await queue.receive(1, 1);
    if (!message) throw new Error('no message received');

    expect(await queue.delete(message)).toBe(true);
    expect(await queue.approximateCount()).toBe(0);
    // past the visibility timeout it does not come back
    await sleep(1_200);
    expect(await queue.receive(32, 30)).toEqual([]);
    // deleting it again: already gone
    expect(await queue.delete(message)).toBe(false);
  });

  it('delete with a stale receipt resolves false and leaves the message to its current receiver', async () => {
    const queue = await freshQueue();
    await queue.send('{"n":3}');
    const [stale] = await queue.receive(1, 1);
    if (!stale) throw new Error('no message received');
    const current = await receiveOneWithin(queue, 5_000);
    if (!current) throw new Error('the message did not come back');

    expect(await queue.delete(stale)).toBe(false);
    expect(await queue.approximateCount()).toBe(1);
    expect(await queue.delete(current)).toBe(true);
    expect(await queue.approximateCount()).toBe(0);
  });

  it('receive(32) returns at most 32 messages', async () => {
    const queue = await freshQueue();
    await Promise.all(Array.from({ length: 40 }, (_, i) => queue.send(JSON.stringify({ i }))));

    const first = await queue.receive(32, 30);
    const second = await queue.receive(32, 30);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThanOrEqual(32);
    expect(second.length).toBeLessThanOrEqual(32);
    const texts = [...first, ...second].map((m) => m.text);
    expect(new Set(texts).size).toBe(texts.length);
    expect(texts.length).toBe(40);
  });

  it('rejects a receive size outside 1–32 as our bug, without asking the service', async () => {
    const queue = await freshQueue();
    for (const max of [0, 33, 1.5]) {
      const rejection = await timeRejection(() => queue.receive(max, 30));
      expect(rejection.err).toBeInstanceOf(RangeError);
      expect(rejection.err).toBeInstanceOf(RangeError);
    }
  });

  it('approximateCount counts waiting messages, received ones included until deleted', async () => {
    const queue = await freshQueue();
    await Promise.all(['a', 'b', 'c'].map((text) => queue.send(JSON.stringify({ text }))));
    expect(await queue.approximateCount()).toBe(3);

    const [message] = await queue.receive(1, 30);
    if (!message) throw new Error('no message received');
    expect(await queue.approximateCount()).toBe(3);
    await queue.delete(message);
    expect(await queue.approximateCount()).toBe(2);
  });

  it('a missing queue is a permanent error, not "unavailable" and not "already deleted"', async () => {
    const queue = createAzureMessageQueue(azurite.connectionString, queueName());
    const send = await timeRejection(() => queue.send('{}'));
    expect(send.err).toBeInstanceOf(PermanentError);
    expect(send.err).toMatchObject({ cause: { statusCode: 404, code: 'QueueNotFound' } });

    const del = await timeRejection(() => queue.delete({ messageId: 'm', popReceipt: 'p' }));
    expect(del.err).toBeInstanceOf(PermanentError);
    expect(del.err).toMatchObject({ cause: { statusCode: 404, code: 'QueueNotFound' } });
  });

  it('with Azurite stopped, send and receive reject quickly with an "unavailable" error', async () => {
    const doomed = await startAzurite();
    try {
      const queue = createAzureMessageQueue(doomed.connectionString, queueName());
      await queue.ensureExists();
      await queue.send('{"before":"stop"}');
      const stopping = performance.now();
      await doomed.stop();
      // Azurite exits on SIGTERM within milliseconds; near 3 s would mean it needed the SIGKILL
      const stopMs = performance.now() - stopping;
      expect(stopMs).toBeLessThan(2_500);

      // the first call after the stop may meet the pooled keep-alive socket (reset) or a refusal
      const send = await timeRejection(() => queue.send('{"after":"stop"}'));
      const receive = await timeRejection(() => queue.receive(1, 30));
      const count = await timeRejection(() => queue.approximateCount());
      console.info(
        `Azurite stopped in ${stopMs.toFixed(0)} ms; ` +
          `interface queue down: send rejected after ${send.ms.toFixed(0)} ms, receive after ` +
          `${receive.ms.toFixed(0)} ms, approximateCount after ${count.ms.toFixed(0)} ms ` +
          `(${String((send.err as Error).message)})`,
      );
      for (const { ms, err } of [send, receive, count]) {
        expect(err).toBeInstanceOf(DependencyUnavailableError);
        expect(ms).toBeLessThan(DOWN_FAILURE_BOUND_MS);
      }
    } finally {
      await doomed.stop();
    }
  });

  describe('a service that accepts connections but never answers', () => {
    let hung: Server;
    const sockets = new Set<Socket>();

    beforeAll(async () => {
      hung = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
      });
      hung.listen(0, '127.0.0.1');
      await once(hung, 'listening');
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    });

    it('rejects at the operation deadline with a TimeoutError that counts as unavailable', async () => {
      const address = hung.address();
      if (address === null || typeof address === 'string') throw new Error('hung server has no port');
      const connectionString = azurite.connectionString.replace(`:${azurite.port}/`, `:${address.port}/`);
      const queue = createAzureMessageQueue(connectionString, queueName(), { operationTimeoutMs: 1_000 });

      const { ms, err } = await timeRejection(() => queue.send('{}'));
      expect(err).toBeInstanceOf(DependencyUnavailableError);
      expect(err).toMatchObject({ dependency: 'interface-queue', cause: { name: 'TimeoutError', code: 'ETIMEDOUT' } });
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(5_000);
    });
  });
});
