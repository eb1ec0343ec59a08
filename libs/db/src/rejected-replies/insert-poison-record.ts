import type { Queryable } from '../pool.js';

/**
 * Keeps a poison record (libs/interface-queue poisonRecord: JSON text, so a NUL or an unpaired
 * surrogate of the original is escaped) in rejected_replies, for when the poison queue refuses it
 * (SPEC §4): the message can then be deleted without being lost.
 */
export async function insertPoisonRecord(db: Queryable, messageId: string, reason: string, record: string): Promise<void> {
  await db.query(`INSERT INTO rejected_replies (reason, message_id, poison_record) VALUES ($1, $2, $3)`, [reason, messageId, record]);
}
