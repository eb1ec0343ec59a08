import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptBackupRequest, checkRequest, readEventsAfter, recordTransition, type EventsRead } from '@linebacker/db';
import { formatEventId, type StatusEvent } from '@linebacker/domain';
import { failUnanswered, NO_REPLY_REASON } from '../../apps/http-receiver/src/reconciliation/reconcile.js';
import { insertJob } from '../support/rows.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// The status-event outbox (SPEC §8, issue 15): every status change writes one event in its own
// transaction (the status trigger, migration status-events), and readEventsAfter returns events in
// an order that never lets a reader resuming after event N miss one that commits later.

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 12 });
  await insertJob(pool, { backupJobId: 'events-job' });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const today = new Date().toISOString().slice(0, 10);

async function accept(requesterId: string, location = randomUUID()): Promise<string> {
  const { request } = await acceptBackupRequest(pool, {
    backupRequestId: uuidv7(),
    requesterId,
    backupJobId: 'events-job',
    dataDate: today,
    backupDataLocation: `/data/${location}`,
    traceId: `trace-${location.slice(0, 8)}`,
  });
  return request.backupRequestId;
}

const history = async (id: string) =>
  (
    await pool.query<{ status: string; previousStatus: string | null; reason: string | null; at: Date }>(
      `SELECT status, previous_status AS "previousStatus", reason, at FROM backup_request_status_history
       WHERE backup_request_id = $1 ORDER BY id`,
      [id],
    )
  ).rows;

/** Every event of the table after `afterId`, read page by page as a follower would. */
async function readAll(options: { afterId?: string; requesterId?: string; backupRequestId?: string; limit?: number } = {}): Promise<StatusEvent[]> {
  const events: StatusEvent[] = [];
  let afterId = options.afterId ?? '0';
  for (;;) {
    const read: EventsRead = await readEventsAfter(pool, { limit: 3, ...options, afterId });
    events.push(...read.events);
    afterId = read.resumeAfter;
    if (!read.more) return events;
  }
}

/** A transaction of its own that has changed a request's status (so holds an event id) and not ended yet. */
async function openTransition(id: string, to: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query('UPDATE backup_requests SET status = $2 WHERE backup_request_id = $1', [id, to]);
  return client;
}

describe('the outbox: one event per status change, in the same transaction', () => {
  it('writes the event of every change (accept, check, send, reply, reply timeout, a later success) exactly as the history has it', async () => {
    const client = `client-${randomUUID().slice(0, 8)}`;
    const failedThenSucceeded = await accept(client);
    await recordTransition(pool, { backupRequestId: failedThenSucceeded, to: 'Allowed', backupProviderCode: 'CloudA', storagePathName: 'vault/events-job' });
    await recordTransition(pool, { backupRequestId: failedThenSucceeded, to: 'Sent' });
    await recordTransition(pool, { backupRequestId: failedThenSucceeded, to: 'Failed', reason: 'disk full' });
    await recordTransition(pool, { backupRequestId: failedThenSucceeded, to: 'Succeeded' });
    // check-allowed's own statement: an unknown job is NotAllowed
    const { request: unknownJob } = await acceptBackupRequest(pool, {
      backupRequestId: uuidv7(), requesterId: client, backupJobId: 'no-such-job', dataDate: today, backupDataLocation: '/data/unknown', traceId: 'trace-unknown',
    });
    await checkRequest(pool, unknownJob.backupRequestId);
    // the reply timeout (reconciliation): Sent for too long becomes Failed
    const timedOut = await accept(client);
    await recordTransition(pool, { backupRequestId: timedOut, to: 'Allowed', backupProviderCode: 'CloudA', storagePathName: 'vault/events-job' });
    await recordTransition(pool, { backupRequestId: timedOut, to: 'Sent' });
    await pool.query(`UPDATE backup_requests SET sent_at = now() - interval '1 hour' WHERE backup_request_id = $1`, [timedOut]);
    expect(await failUnanswered(pool, 60_000, 100)).toContain(timedOut);
    // a change refused by the rules writes nothing
    expect(await recordTransition(pool, { backupRequestId: unknownJob.backupRequestId, to: 'Sent' })).toBeUndefined();

    const events = await readAll({ requesterId: client });
    expect(events.map((e) => e.status)).toEqual([
      'Received', 'Allowed', 'Sent', 'Failed', 'Succeeded', 'Received', 'NotAllowed', 'Received', 'Allowed', 'Sent', 'Failed',
    ]);
    for (const id of [failedThenSucceeded, unknownJob.backupRequestId, timedOut]) {
      const own = events.filter((e) => e.backupRequestId === id);
      expect(own.map(({ status, previousStatus, reason, at }) => ({ status, previousStatus, reason, at: new Date(at) }))).toEqual(await history(id));
      const request = (await pool.query('SELECT requester_id, backup_job_id, trace_id FROM backup_requests WHERE backup_request_id = $1', [id])).rows[0];
      for (const event of own) {
        expect(event).toMatchObject({
          type: 'backup-request.status-changed', requesterId: request.requester_id, backupJobId: request.backup_job_id, traceId: request.trace_id,
        });
        expect(event.eventId).toMatch(/^\d{16}$/);
      }
    }
    expect(events.filter((e) => e.backupRequestId === unknownJob.backupRequestId).at(-1)).toMatchObject({ reason: 'unknown backup job' });
    expect(events.at(-1)).toMatchObject({ status: 'Failed', previousStatus: 'Sent', reason: NO_REPLY_REASON });
    // ids increase, as strings too
    expect([...events.map((e) => e.eventId)].sort()).toEqual(events.map((e) => e.eventId));
  });

  it('filters by client and by request, and pages with resumeAfter and more', async () => {
    const [a, b] = [`a-${randomUUID().slice(0, 8)}`, `b-${randomUUID().slice(0, 8)}`];
    const start = (await readEventsAfter(pool, { afterId: '0', limit: 1_000_000 })).resumeAfter;
    const ofA = await accept(a);
    await accept(b);
    await recordTransition(pool, { backupRequestId: ofA, to: 'NotAllowed', reason: 'backup job is inactive' });
    const ofB = await accept(b);

    const first = await readEventsAfter(pool, { afterId: start, limit: 2 });
    expect(first.events.map((e) => e.requesterId)).toEqual([a, b]);
    expect(first).toMatchObject({ more: true, pending: false, resumeAfter: first.events[1]!.eventId });
    const rest = await readEventsAfter(pool, { afterId: first.resumeAfter, limit: 10 });
    expect(rest.events.map((e) => [e.requesterId, e.status])).toEqual([[a, 'NotAllowed'], [b, 'Received']]);
    expect(rest.more).toBe(false);
    const nothing = await readEventsAfter(pool, { afterId: rest.resumeAfter, limit: 10 });
    expect(nothing).toEqual({ events: [], resumeAfter: rest.resumeAfter, more: false, pending: false });

    expect((await readAll({ afterId: start, requesterId: b })).map((e) => e.backupRequestId)).toHaveLength(2);
    expect((await readAll({ afterId: start, backupRequestId: ofA })).map((e) => e.status)).toEqual(['Received', 'NotAllowed']);
    expect(await readAll({ afterId: start, backupRequestId: ofB, requesterId: a })).toEqual([]);
    // unpadded ids are read too; anything else is refused
    expect((await readEventsAfter(pool, { afterId: String(Number(start)), limit: 10 })).events).toHaveLength(4);
    await expect(readEventsAfter(pool, { afterId: 'x1', limit: 10 })).rejects.toThrow(RangeError);
  });
});

describe('commit order: a reader never returns an event before a lower one that may still commit', () => {
  it('holds back a committed event while a transaction with a lower id is open, then returns both in id order', async () => {
    const client = `order-${randomUUID().slice(0, 8)}`;
    const [slow, fast] = [await accept(client), await accept(client)];
    const start = (await readEventsAfter(pool, { afterId: '0', limit: 1_000_000 })).resumeAfter;
    const t1 = await openTransition(slow, 'Allowed'); // takes the lower event id, commits last
    try {
      await pool.query(`UPDATE backup_requests SET status = 'NotAllowed' WHERE backup_request_id = $1`, [fast]); // T2: commits first
      for (const filter of [{}, { requesterId: client }, { backupRequestId: fast }]) {
        const held = await readEventsAfter(pool, { afterId: start, limit: 10, finalWaitMs: 200, ...filter });
        expect(held, JSON.stringify(filter)).toEqual({ events: [], resumeAfter: start, more: false, pending: true });
      }
    } finally {
      await t1.query('COMMIT');
      await t1.end();
    }
    const both = await readEventsAfter(pool, { afterId: start, limit: 10 });
    expect(both.events.map((e) => [e.backupRequestId, e.status])).toEqual([[slow, 'Allowed'], [fast, 'NotAllowed']]);
    expect(Number(both.events[0]!.eventId)).toBeLessThan(Number(both.events[1]!.eventId));
  });

  it('returns the later event once the lower one is rolled back, and waits for a transaction ending within finalWaitMs', async () => {
    const client = `rollback-${randomUUID().slice(0, 8)}`;
    const [aborted, kept, late] = [await accept(client), await accept(client), await accept(client)];
    const start = (await readEventsAfter(pool, { afterId: '0', limit: 1_000_000 })).resumeAfter;
    const t1 = await openTransition(aborted, 'Allowed');
    await pool.query(`UPDATE backup_requests SET status = 'Allowed' WHERE backup_request_id = $1`, [kept]);
    await t1.query('ROLLBACK');
    await t1.end();
    const read = await readEventsAfter(pool, { afterId: start, limit: 10 });
    expect(read.events.map((e) => e.backupRequestId)).toEqual([kept]);

    // a transaction that commits while the reader waits: it gets both
    const t2 = await openTransition(late, 'Allowed');
    await pool.query(`UPDATE backup_requests SET status = 'Sent' WHERE backup_request_id = $1`, [kept]);
    const reading = readEventsAfter(pool, { afterId: read.resumeAfter, limit: 10, finalWaitMs: 5000 });
    await sleep(100);
    await t2.query('COMMIT');
    await t2.end();
    expect((await reading).events.map((e) => [e.backupRequestId, e.status])).toEqual([[late, 'Allowed'], [kept, 'Sent']]);
  });

  it('under concurrent writers that commit out of id order (and some that roll back), a follower gets every committed event once, in id order', async () => {
    const client = `stress-${randomUUID().slice(0, 8)}`;
    const start = (await readEventsAfter(pool, { afterId: '0', limit: 1_000_000 })).resumeAfter;
    const ids = await Promise.all(Array.from({ length: 40 }, () => accept(client)));
    let writing = true;
    const writers = (async () => {
      await Promise.all(
        [0, 1, 2, 3, 4, 5].map(async (w) => {
          for (const [i, id] of ids.entries()) {
            if (i % 6 !== w) continue;
            for (const to of ['Allowed', 'Sent', 'Succeeded']) {
              const tx = await pool.connect();
              try {
                await tx.query('BEGIN');
                await tx.query('UPDATE backup_requests SET status = $2 WHERE backup_request_id = $1', [id, to]);
                await sleep(Math.random() * 25); // hold the event id while others commit
                const abort = (i + to.length) % 9 === 0 && to === 'Sent';
                await tx.query(abort ? 'ROLLBACK' : 'COMMIT');
                if (abort) break;
              } finally {
                tx.release();
              }
            }
          }
        }),
      );
      writing = false;
    })();
    const seen: StatusEvent[] = [];
    let afterId = start;
    for (let quiet = 0; writing || quiet < 2; ) {
      const read = await readEventsAfter(pool, { afterId, limit: 7 });
      seen.push(...read.events);
      afterId = read.resumeAfter;
      if (!writing && read.events.length === 0 && !read.pending) quiet += 1;
      if (!read.more) await sleep(5);
    }
    await writers;

    const { rows } = await pool.query<{ id: string }>('SELECT id FROM backup_request_events WHERE id > $1 ORDER BY id', [Number(start)]);
    const committed = rows.map((row) => formatEventId(row.id));
    expect(seen.map((e) => e.eventId)).toEqual(committed);
    expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
    expect(committed.length).toBeGreaterThan(40 + 40 * 2);
  });
});

describe('pruned events', () => {
  it('"0" reads from the oldest event kept', async () => {
    const client = `pruned-${randomUUID().slice(0, 8)}`;
    const old = await accept(client);
    const young = await accept(client);
    await pool.query('DELETE FROM backup_request_events WHERE backup_request_id = $1', [old]);
    expect((await readAll({ requesterId: client })).map((e) => e.backupRequestId)).toEqual([young]);
  });
});
