import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptBackupRequest, createWebhookEndpoint, recordTransition, type Queryable } from '@linebacker/db';
import { FanOut } from '../../apps/notifier/src/fan-out.js';
import { createTestApiClient } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// The notifier's fan-out while no webhook endpoint exists (issue 10): it passes the events without
// reading them (one snapshot says "no endpoint" and the highest event id), and the first endpoint
// created afterwards gets every event of the changes made after it, none from before.

let db: TestDatabase;
let pool: pg.Pool;
/** Every statement the fan-out ran, in order. */
const statements: string[] = [];
/** The pool, recording the statements it is given (the queries themselves run on real Postgres). */
const recording: Queryable = {
  query: ((config: string | { text: string }, values?: unknown[]) => {
    statements.push(typeof config === 'string' ? config : config.text);
    return pool.query(config as string, values);
  }) as Queryable['query'],
};
/** The page read of readEventsAfter: the statement that reads event rows. */
const readsEventRows = () => statements.some((text) => /FROM backup_request_events WHERE id > \$1/.test(text));

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 4 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const today = new Date().toISOString().slice(0, 10);

/** A request of `clientId`, Received then Allowed: two events. */
async function twoEvents(clientId: string): Promise<void> {
  const { request } = await acceptBackupRequest(pool, {
    backupRequestId: uuidv7(),
    requesterId: clientId,
    backupJobId: 'horizon-job',
    dataDate: today,
    backupDataLocation: `/data/${randomUUID()}`,
    traceId: `trace-${randomUUID().slice(0, 8)}`,
  });
  await recordTransition(pool, { backupRequestId: request.backupRequestId, to: 'Allowed', backupProviderCode: 'Local', storagePathName: 'vault/h' });
}

const latestEventId = async () => Number((await pool.query<{ id: string }>('SELECT max(id)::text AS id FROM backup_request_events')).rows[0]!.id);
const savedPosition = async () => Number((await pool.query<{ after: string }>('SELECT after_event_id::text AS after FROM webhook_fanout')).rows[0]!.after);
const deliveredEventIds = async () =>
  (await pool.query<{ id: string }>('SELECT event_id::text AS id FROM webhook_deliveries ORDER BY event_id')).rows.map((row) => Number(row.id));

describe('the fan-out without any webhook endpoint', () => {
  it('passes the events without reading them; the first endpoint then gets the events after it and none before', async () => {
    const { clientId } = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'horizon');
    for (let i = 0; i < 5; i++) await twoEvents(clientId);
    const fanOut = new FanOut({ db: recording, pageSize: 500, log: pino({ level: 'silent' }), saveEveryMs: 0 });

    expect(fanOut.sawNoEndpoint).toBe(false);
    expect(await fanOut.pass()).toEqual({ inserted: 0, more: false });
    expect(readsEventRows()).toBe(false);
    // (the notifier then fans out on its poll only, not on event wake-ups)
    expect(fanOut.sawNoEndpoint).toBe(true);
    const before = await latestEventId();
    expect(await savedPosition()).toBe(before);

    await createWebhookEndpoint(pool, clientId, { url: 'http://127.0.0.1:9/hook', statuses: undefined }, undefined);
    await twoEvents(clientId);
    statements.length = 0;
    expect(await fanOut.pass()).toEqual({ inserted: 2, more: false });
    // (the control: with an endpoint, the same pass reads the event rows)
    expect(readsEventRows()).toBe(true);
    expect(fanOut.sawNoEndpoint).toBe(false);
    expect(await deliveredEventIds()).toEqual([before + 1, before + 2]);
  });
});
