import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStatusReply, REPLY_LIMITS, validateStatusReply } from '@linebacker/domain';
import { MAX_RECORD_WIRE_BYTES, poisonRecord, wireBytes, type PoisonRecord } from './poison-record.js';

/*
 * Property-based fuzzing (fast-check) of what the backup interface can send us (SPEC §4): whatever
 * the text of a reply message, parsing never throws; a reply is accepted only when every string in
 * it is storable text within its limit; every refused reply has a reason; and its poison record is
 * JSON that fits the queue's message limit and identifies the original (length, SHA-256).
 * LINEBACKER_FUZZ_REPLY_RUNS cases (200 in `npm test`, 1,000 in `npm run test:fuzz`);
 * LINEBACKER_FUZZ_SEED replays a run.
 */

const RUNS = Number(process.env.LINEBACKER_FUZZ_REPLY_RUNS ?? 200);
const SEED = process.env.LINEBACKER_FUZZ_SEED === undefined ? undefined : Number(process.env.LINEBACKER_FUZZ_SEED);

const valid = {
  apiVersion: '2022-05-22',
  backupRequestId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  storagePathName: 'vault/db',
  resultTypeCode: 'Succeeded',
  backupByteCount: 1234,
  copyStartTimestamp: '2026-01-15T01:00:00Z',
  copyEndTimestamp: '2026-01-15T01:05:00Z',
  verifiedHash: 'sha256:abc',
  messageText: 'ok',
  traceId: 'trace-1',
};
type Field = keyof typeof valid;
const FIELDS = Object.keys(valid) as Field[];

/** Strings a hostile interface might send: any UTF-16 (lone surrogates, NUL, controls), long runs. */
const nastyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udfff', '\u001b', '"', '\\', '<', '&', 'é', '😀', 'a') }),
  fc.tuple(fc.string({ maxLength: 3 }), fc.integer({ min: 1, max: 70_000 })).map(([unit, times]) => (unit || 'x').repeat(times)),
);
const anyValue = fc.oneof(nastyString, fc.jsonValue(), fc.constantFrom(null, -1, 1.5, 2 ** 60, true, [], {}));

/** A valid reply with some fields replaced, removed or added. */
const mutatedReply = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 4 }),
    fc.subarray(FIELDS, { maxLength: 3 }),
    fc.dictionary(nastyString, anyValue, { maxKeys: 2 }),
  )
  .map(([replaced, removed, extra]) => {
    const reply: Record<string, unknown> = { ...extra, ...valid, ...replaced };
    for (const field of removed) delete reply[field];
    return reply;
  });

const replyText = fc.oneof(
  mutatedReply.map((reply) => JSON.stringify(reply)),
  mutatedReply.map((reply) => Buffer.from(JSON.stringify(reply)).toString('base64')),
  nastyString,
  fc.jsonValue().map((json) => JSON.stringify(json)),
  fc.tuple(mutatedReply, fc.nat()).map(([reply, cut]) => {
    const text = JSON.stringify(reply);
    return text.slice(0, cut % (text.length + 1));
  }),
);

const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Every string of an accepted reply, keys included, is text Postgres can store. */
function expectStorable(json: unknown): void {
  if (typeof json === 'string') {
    expect(json.includes('\u0000') || UNPAIRED.test(json)).toBe(false);
  } else if (json && typeof json === 'object') {
    for (const [key, value] of Object.entries(json)) {
      expectStorable(key);
      expectStorable(value);
    }
  }
}

describe('fuzz: replies from the backup interface', () => {
  it(`parses ${RUNS} hostile reply texts without throwing; refused ones get a reason and a poison record within the limit`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(replyText, fc.nat({ max: 10 }), (text, dequeueCount) => {
        const parsed = parseStatusReply(text);
        if (parsed.ok) {
          accepted += 1;
          expectStorable(parsed.reply);
          for (const [field, limit] of Object.entries(REPLY_LIMITS)) {
            const value = parsed.reply[field as keyof typeof REPLY_LIMITS];
            expect((value ?? '').length).toBeLessThanOrEqual(limit);
          }
          // receive-status validates again what the inbox keeps: the same verdict
          expect(validateStatusReply(JSON.parse(JSON.stringify(parsed.reply))).ok).toBe(true);
          return;
        }
        expect(parsed.reason).toMatch(/\S/);
        const record = poisonRecord({ messageId: 'm-1', dequeueCount, text }, parsed.reason, 'backup-statuses');
        expect(wireBytes(record)).toBeLessThanOrEqual(MAX_RECORD_WIRE_BYTES);
        const kept = JSON.parse(record) as PoisonRecord;
        expect(kept.reason).toBe(parsed.reason);
        expect(kept.originalBytes).toBe(Buffer.byteLength(text));
        expect(kept.sha256).toBe(createHash('sha256').update(text).digest('hex'));
        expect(kept.truncated ? text.startsWith(kept.text) : kept.text === text).toBe(true);
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    console.log(`[fuzz] replies: ${RUNS} cases, ${accepted} accepted as valid, ${RUNS - accepted} refused with a reason and poisoned within ${MAX_RECORD_WIRE_BYTES} bytes`);
  }, 600_000);
});
