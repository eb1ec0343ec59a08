import { createHash } from 'node:crypto';
import type { ReceivedMessage } from './interface-queue.js';

/**
 * What lands in the poison queue for a message that cannot be handled (SPEC §4): why, where it
 * came from, and the original text — whole when it fits, else its beginning, with the original's
 * length and SHA-256 so that the whole can be recognised elsewhere.
 */
export interface PoisonRecord {
  reason: string;
  sourceQueue: string;
  messageId: string;
  dequeueCount: number;
  poisonedAt: string;
  /** UTF-8 bytes of the original text. */
  originalBytes: number;
  /** SHA-256 (hex) of the original text's UTF-8 bytes. */
  sha256: string;
  /** True when `text` is only the beginning of the original. */
  truncated: boolean;
  text: string;
}

/**
 * Azure refuses a message over 64 KiB, counted on the XML-escaped text it travels as. The record
 * stays under this, so that the poison queue never refuses a record for its size.
 */
export const MAX_RECORD_WIRE_BYTES = 60 * 1024;

/** The longest reason a record keeps (found by the fuzz test: a reason naming a 50 KB field name). */
const MAX_REASON_LENGTH = 1000;

const XML_ESCAPED: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
/** The size of `text` on the wire: UTF-8 bytes after XML escaping (as the Azure SDK sends it). */
export const wireBytes = (text: string): number =>
  Buffer.byteLength(text) + [...text.matchAll(/[&<>"']/g)].reduce((sum, [char]) => sum + XML_ESCAPED[char]!.length - 1, 0);

/**
 * The poison record of `message` as JSON text, at most `maxWireBytes` on the wire. JSON escapes
 * control characters (NUL included) and unpaired surrogates, so the record is well-formed text
 * whatever the original held. When the whole text does not fit, the longest beginning that fits
 * is kept (binary search on its length; escaping can make a character cost up to ~12 bytes).
 */
export function poisonRecord(
  message: Pick<ReceivedMessage, 'messageId' | 'dequeueCount' | 'text'>,
  reason: string,
  sourceQueue: string,
  now: Date = new Date(),
  maxWireBytes: number = MAX_RECORD_WIRE_BYTES,
): string {
  // a reason can quote the message (a field name): never let it crowd out the record's limit
  reason = reason.length <= MAX_REASON_LENGTH ? reason : `${reason.slice(0, MAX_REASON_LENGTH - 3)}...`;
  const original = Buffer.from(message.text);
  const sha256 = createHash('sha256').update(original).digest('hex');
  const record = (text: string): string =>
    JSON.stringify({
      reason,
      sourceQueue,
      messageId: message.messageId,
      dequeueCount: message.dequeueCount,
      poisonedAt: now.toISOString(),
      originalBytes: original.length,
      sha256,
      truncated: text.length < message.text.length,
      text,
    } satisfies PoisonRecord);
  const whole = record(message.text);
  if (wireBytes(whole) <= maxWireBytes) return whole;
  let fits = 0;
  let tooLong = message.text.length;
  while (tooLong - fits > 1) {
    const length = Math.floor((fits + tooLong) / 2);
    if (wireBytes(record(message.text.slice(0, length))) <= maxWireBytes) fits = length;
    else tooLong = length;
  }
  return record(message.text.slice(0, fits));
}
