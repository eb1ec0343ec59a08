import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_WIRE_BYTES, poisonRecord, wireBytes, type PoisonRecord } from './poison-record.js';

const message = (text: string) => ({ messageId: 'm-1', dequeueCount: 2, text });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const parse = (record: string) => JSON.parse(record) as PoisonRecord;

describe('poisonRecord (SPEC §4)', () => {
  it('keeps a short text whole, with the reason, its source, length and SHA-256', () => {
    const now = new Date('2026-12-02T10:00:00Z');
    expect(parse(poisonRecord(message('not json'), 'the reply is not valid JSON', 'backup-statuses', now))).toEqual({
      reason: 'the reply is not valid JSON',
      sourceQueue: 'backup-statuses',
      messageId: 'm-1',
      dequeueCount: 2,
      poisonedAt: '2026-12-02T10:00:00.000Z',
      originalBytes: 8,
      sha256: sha256('not json'),
      truncated: false,
      text: 'not json',
    });
  });

  it.each([
    ['60 KiB of plain text', 'x'.repeat(60 * 1024)],
    ['40 KiB of double quotes (doubled by JSON, six times on the XML wire)', '"'.repeat(40 * 1024)],
    ['32 KiB of NUL characters (six bytes each in JSON)', '\u0000'.repeat(32 * 1024)],
    ['multi-byte characters', '€'.repeat(30_000)],
  ])('cuts %s to fit the message limit, keeping the longest beginning that fits', (_kind, text) => {
    const record = poisonRecord(message(text), 'too big', 'q');
    expect(wireBytes(record)).toBeLessThanOrEqual(MAX_RECORD_WIRE_BYTES);
    const parsed = parse(record);
    expect(parsed.truncated).toBe(true);
    expect(text.startsWith(parsed.text)).toBe(true);
    expect(parsed.originalBytes).toBe(Buffer.byteLength(text));
    expect(parsed.sha256).toBe(sha256(text));
    // the longest beginning: one more character would not fit
    const longer = poisonRecord(message(text), 'too big', 'q', new Date(), wireBytes(record) - 1);
    expect(parse(longer).text.length).toBeLessThan(parsed.text.length);
  });

  it('escapes NUL characters and unpaired surrogates: the record is well-formed text', () => {
    const record = poisonRecord(message('a\u0000b\ud800c'), 'bad', 'q');
    expect(record).not.toContain('\u0000');
    expect(record).toContain('\\u0000');
    expect(record).toContain('\\ud800');
    expect(parse(record).text).toBe('a\u0000b\ud800c');
  });

  it('wireBytes counts UTF-8 bytes after XML escaping', () => {
    expect(wireBytes('abc')).toBe(3);
    expect(wireBytes('€')).toBe(3);
    expect(wireBytes(`&<>"'`)).toBe(5 + 4 + 4 + 6 + 6);
  });
});

describe('poisonRecord with a huge reason (found by the fuzz test)', () => {
  it('cuts the reason so that the record still fits', () => {
    const text = `{"${' '.repeat(50_000)}\\udfff":1}`;
    const record = poisonRecord({ messageId: 'm', dequeueCount: 1, text }, `invalid reply: ${' '.repeat(50_000)} (name): contains an unpaired surrogate`, 'q');
    expect(wireBytes(record)).toBeLessThanOrEqual(MAX_RECORD_WIRE_BYTES);
    expect((JSON.parse(record) as { reason: string }).reason).toHaveLength(1000);
  });
});
