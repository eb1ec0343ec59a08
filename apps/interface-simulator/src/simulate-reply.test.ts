import { randomUUID } from 'node:crypto';
import { INTERFACE_API_VERSION, parseStatusReply, type OutboundBackupRequest } from '@linebacker/domain';
import { describe, expect, it } from 'vitest';
import { MALFORMED_VARIANTS, malformedVariantFor, replyFor, simulatedByteCount } from './simulate-reply.js';

const now = new Date('2025-03-04T05:06:07.890Z');

function message(backupRequestId: string = randomUUID()): OutboundBackupRequest {
  return {
    apiVersion: INTERFACE_API_VERSION,
    backupRequestId,
    backupJobId: 'nightly-db',
    dataDate: '2025-03-03',
    preparedDataPathName: '/data/prepared/nightly-db/2025-03-03',
    storagePathName: '/backups/nightly-db',
    backupProviderCode: 'Local',
    requestedAt: '2025-03-04T05:00:00.000Z',
    traceId: 'trace-abc',
  };
}

/** Request ids that get each malformed variant, found by trying random ones. */
function idsByVariant(): Map<string, string> {
  const found = new Map<string, string>();
  while (found.size < MALFORMED_VARIANTS.length) {
    const id = randomUUID();
    const variant = malformedVariantFor(id);
    if (!found.has(variant)) found.set(variant, id);
  }
  return found;
}

describe('replyFor', () => {
  it('answers Succeeded with a valid SPEC §4 reply for that request', () => {
    const outbound = message();
    const parsed = parseStatusReply(replyFor(outbound, 'Succeeded', now));
    expect(parsed).toEqual({ ok: true, reply: expect.anything() });
    if (!parsed.ok) return;
    expect(parsed.reply).toMatchObject({
      apiVersion: INTERFACE_API_VERSION,
      backupRequestId: outbound.backupRequestId,
      storagePathName: outbound.storagePathName,
      resultTypeCode: 'Succeeded',
      backupByteCount: simulatedByteCount(outbound.backupRequestId),
      verifyEndTimestamp: now.toISOString(),
      traceId: 'trace-abc',
    });
    expect(parsed.reply.backupByteCount).toBeGreaterThan(0);
    expect(parsed.reply.verifiedHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Date.parse(parsed.reply.copyStartTimestamp)).toBeLessThan(Date.parse(parsed.reply.copyEndTimestamp));
  });

  it('answers Failed with a valid reply, 0 bytes and a reason', () => {
    const outbound = message();
    const parsed = parseStatusReply(replyFor(outbound, 'Failed', now));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.reply).toMatchObject({
      backupRequestId: outbound.backupRequestId,
      storagePathName: outbound.storagePathName,
      resultTypeCode: 'Failed',
      backupByteCount: 0,
      traceId: 'trace-abc',
    });
    expect(parsed.reply.messageText).toMatch(/^simulated failure: /);
  });

  it('is deterministic: the same message, outcome and time give the same text', () => {
    const outbound = message();
    for (const outcome of ['Succeeded', 'Failed', 'Malformed'] as const) {
      expect(replyFor(outbound, outcome, now)).toBe(replyFor({ ...outbound }, outcome, now));
    }
  });

  it.each(MALFORMED_VARIANTS)('makes a %s reply that parseStatusReply rejects and that still names the request', (variant) => {
    const id = idsByVariant().get(variant) as string;
    const text = replyFor(message(id), 'Malformed', now);
    const parsed = parseStatusReply(text);
    expect(parsed.ok).toBe(false);
    expect(text).toContain(id);
  });

  it('rejects every malformed reply over many random ids', () => {
    for (let i = 0; i < 500; i++) expect(parseStatusReply(replyFor(message(), 'Malformed', now)).ok).toBe(false);
  });
});
