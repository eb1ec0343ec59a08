import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { INTERFACE_API_VERSION, parseStatusReply, type OutboundBackupRequest } from '@linebacker/domain';
import { createInterfaceQueues, type InterfaceQueues } from '@linebacker/interface-queue';
import { createLogger } from '@linebacker/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInterfaceSimulator } from '../../apps/interface-simulator/src/interface-simulator.js';
import { simulatedOutcome } from '../../apps/interface-simulator/src/simulated-outcome.js';
import { startAzurite, type Azurite } from '../support/azurite.js';

const FAILURE_RATIO = 0.3;
const MALFORMED_RATIO = 0.2;
const COUNT = 40;

let azurite: Azurite;
let queues: InterfaceQueues;

beforeAll(async () => {
  azurite = await startAzurite();
  const suffix = randomBytes(4).toString('hex');
  queues = createInterfaceQueues({
    connectionString: azurite.connectionString,
    requestQueue: `sim-requests-${suffix}`,
    statusQueue: `sim-statuses-${suffix}`,
    poisonQueue: `sim-poison-${suffix}`,
  });
  await Promise.all([queues.requests.ensureExists(), queues.statuses.ensureExists()]);
});
afterAll(() => azurite?.stop());

/** What send-to-interface sends (outboundMessage() of an Allowed request). */
function outbound(): OutboundBackupRequest {
  const backupRequestId = randomUUID();
  return {
    apiVersion: INTERFACE_API_VERSION,
    backupRequestId,
    backupJobId: 'simulated-job',
    dataDate: '2025-06-01',
    preparedDataPathName: `/prepared/${backupRequestId}`,
    storagePathName: '/backups/simulated-job',
    backupProviderCode: 'CloudA',
    requestedAt: new Date().toISOString(),
    traceId: randomUUID(),
  };
}

describe('interface simulator against Azurite', () => {
  it('answers every request on the status queue with its predicted fate and empties the request queue', async () => {
    const simulator = startInterfaceSimulator({
      queues,
      settings: { failureRatio: FAILURE_RATIO, malformedRatio: MALFORMED_RATIO, delayMs: 0, maxIdlePollMs: 50 },
      logger: createLogger('interface-simulator', process.env.LINEBACKER_TEST_LOG ?? 'silent'),
    });
    try {
      const sent = Array.from({ length: COUNT }, outbound);
      await Promise.all(sent.map((message) => queues.requests.send(JSON.stringify(message))));

      const replies: string[] = [];
      const deadline = Date.now() + 20_000;
      while (replies.length < COUNT && Date.now() < deadline) {
        const received = await queues.statuses.receive(32, 30);
        for (const message of received) {
          replies.push(message.text);
          await queues.statuses.delete(message);
        }
        if (received.length === 0) await sleep(50);
      }
      expect(replies).toHaveLength(COUNT);

      for (const message of sent) {
        const { backupRequestId } = message;
        const answers = replies.filter((text) => text.includes(backupRequestId));
        expect(answers, `replies for ${backupRequestId}`).toHaveLength(1);
        const parsed = parseStatusReply(answers[0] ?? '');
        const fate = simulatedOutcome(backupRequestId, FAILURE_RATIO, MALFORMED_RATIO);
        if (fate === 'Malformed') {
          expect(parsed.ok, `reply for ${backupRequestId} is malformed`).toBe(false);
        } else {
          expect(parsed).toMatchObject({
            ok: true,
            reply: { backupRequestId, resultTypeCode: fate, storagePathName: message.storagePathName, traceId: message.traceId },
          });
        }
      }

      // the simulator deletes each request after its reply went out
      const empty = Date.now() + 5_000;
      while ((await queues.requests.approximateCount()) > 0 && Date.now() < empty) await sleep(50);
      expect(await queues.requests.approximateCount()).toBe(0);
      expect(await queues.requests.receive(32, 1)).toEqual([]);
    } finally {
      await expect(simulator.stop()).resolves.toBeUndefined();
    }
  });
});
