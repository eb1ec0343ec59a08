import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import { acceptBackupRequest, readEventsAfter, recordTransition } from '@linebacker/db';
import { parseEventId, type RequestStatus, type StatusEvent } from '@linebacker/domain';
import { eventWakeupChannel, openWakeupPublisher } from '@linebacker/queues';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import { startTestReceiver, type TestReceiver } from '../support/receiver.js';
import { SseClient, openNonReadingClient, parseSse } from '../support/sse-client.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

/*
 * GET /api/v1/events (SPEC §8): Server-Sent Events of the status-event outbox, through a receiver
 * running in this process on real Postgres and Redis. Events are written as the pipeline writes
 * them (the status trigger, in the transaction of each change), here by accepting and moving
 * requests in Postgres directly, and woken up over Redis as the apps do.
 */

const MAX_BUFFERED_BYTES = 65_536;
/** Events of the slow-subscriber test. */
const BURST = 16_000;
const today = new Date().toISOString().slice(0, 10);

let db: TestDatabase;
let pool: pg.Pool;
let receiver: TestReceiver;
let ops: TestApiClient;
let alice: TestApiClient;
let bob: TestApiClient;
let writeOnly: TestApiClient;
let wakeups: ReturnType<typeof openWakeupPublisher>;
const clients: SseClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 8 });
  const prefix = testQueuePrefix();
  receiver = await startTestReceiver({
    DATABASE_URL: db.databaseUrl,
    REDIS_URL: testRedisUrl(),
    LINEBACKER_QUEUE_PREFIX: prefix,
    LINEBACKER_EVENTS_HEARTBEAT_MS: '300',
    LINEBACKER_EVENTS_POLL_MS: '500',
    LINEBACKER_EVENTS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
  });
  wakeups = openWakeupPublisher(loadConfig({ REDIS_URL: testRedisUrl() }).redis, eventWakeupChannel(prefix), 'event-stream-test');
  ops = await createTestApiClient(db.databaseUrl, ['ops:read'], 'ops');
  alice = await createTestApiClient(db.databaseUrl, ['requests:read', 'requests:write'], 'alice');
  bob = await createTestApiClient(db.databaseUrl, ['requests:read', 'requests:write'], 'bob');
  writeOnly = await createTestApiClient(db.databaseUrl, ['requests:write'], 'write-only');
});

afterAll(async () => {
  for (const client of clients) client.close();
  wakeups?.close();
  await receiver?.close();
  await pool?.end();
  await db?.drop();
});

const auth = (client: TestApiClient) => ({ authorization: `Bearer ${client.apiKey}` });

async function stream(client: TestApiClient, query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const opened = await SseClient.open(`${receiver.url}/api/v1/events${query}`, { ...auth(client), ...headers });
  clients.push(opened);
  return opened;
}

/** Resolves once the stream has gone live (its first `id:` line, which carries where it starts). */
async function live(client: SseClient): Promise<string> {
  await expect.poll(() => client.messages.some((m) => m.id !== undefined && m.event === undefined), { timeout: 10_000 }).toBe(true);
  return client.messages.find((m) => m.id !== undefined && m.event === undefined)!.id!;
}

/** A request accepted for `client` and moved through `steps`, as the pipeline's steps would, each step waking the readers. */
async function request(client: TestApiClient, steps: RequestStatus[] = []): Promise<string> {
  const { request: accepted } = await acceptBackupRequest(pool, {
    backupRequestId: uuidv7(),
    requesterId: client.clientId,
    backupJobId: 'stream-job',
    dataDate: today,
    backupDataLocation: `/data/${uuidv7()}`,
    traceId: 'trace-stream',
  });
  wakeups.publisher.notify();
  for (const to of steps) {
    await recordTransition(pool, { backupRequestId: accepted.backupRequestId, to, ...(to === 'Allowed' ? { backupProviderCode: 'CloudA', storagePathName: 'vault/stream' } : {}) });
    wakeups.publisher.notify();
  }
  return accepted.backupRequestId;
}

/** Every event in the outbox after `afterId` (unfiltered), read as a reader would. */
async function outboxAfter(afterId: string, filter: { requesterId?: string } = {}): Promise<StatusEvent[]> {
  const events: StatusEvent[] = [];
  for (let cursor = afterId; ; ) {
    const read = await readEventsAfter(pool, { afterId: cursor, limit: 1000, ...filter });
    events.push(...read.events);
    if (!read.more && !read.pending) return events;
    cursor = read.resumeAfter;
  }
}

const ids = (events: { eventId: string }[]) => events.map((event) => event.eventId);

describe('GET /api/v1/events', () => {
  it('streams live events: id, event status-changed and the event JSON as data', async () => {
    const client = await stream(alice);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(client.headers['cache-control']).toContain('no-cache');
    await live(client);

    const posted = await call(receiver.url, 'POST', '/api/v1/backup-requests', {
      token: alice.apiKey,
      json: { backupJobId: 'stream-job', dataDate: today, backupDataLocation: '/data/posted' },
    });
    expect(posted.status).toBe(202);
    const id = posted.body.backupRequestId as string;
    await recordTransition(pool, { backupRequestId: id, to: 'NotAllowed', reason: 'unknown backup job' });
    wakeups.publisher.notify();

    await expect.poll(() => client.events.length, { timeout: 10_000 }).toBe(2);
    const [received, notAllowed] = client.events;
    expect(received).toEqual({
      eventId: expect.stringMatching(/^\d{16}$/) as string,
      type: 'backup-request.status-changed',
      backupRequestId: id,
      requesterId: alice.clientId,
      backupJobId: 'stream-job',
      status: 'Received',
      previousStatus: null,
      reason: null,
      at: posted.body.receivedAt,
      traceId: posted.headers.get('x-request-id'),
    });
    expect(notAllowed).toMatchObject({ backupRequestId: id, status: 'NotAllowed', previousStatus: 'Received', reason: 'unknown backup job' });
    // each event's `id:` is its eventId, and ids grow
    const messages = client.messages.filter((m) => m.event === 'status-changed');
    expect(messages.map((m) => m.id)).toEqual(ids(client.events));
    expect(parseEventId(notAllowed!.eventId)!).toBeGreaterThan(parseEventId(received!.eventId)!);
    client.close();
  });

  it("shows a client only its own requests' events, ops:read every client's, and ?backupRequestId= one request's", async () => {
    const mine = await request(alice);
    const [aliceStream, bobStream, opsStream, oneRequest] = await Promise.all([
      stream(alice),
      stream(bob),
      stream(ops),
      stream(alice, `?backupRequestId=${mine}`),
    ]);
    await Promise.all([aliceStream, bobStream, opsStream, oneRequest].map(live));

    await request(alice, ['Allowed']);
    await request(bob, ['Allowed', 'Sent']);
    await recordTransition(pool, { backupRequestId: mine, to: 'Allowed', backupProviderCode: 'CloudA', storagePathName: 'vault/stream' });
    wakeups.publisher.notify();

    await expect.poll(() => opsStream.events.length, { timeout: 10_000 }).toBe(6);
    await expect.poll(() => aliceStream.events.length, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => bobStream.events.length, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => oneRequest.events.length, { timeout: 10_000 }).toBe(1);
    await sleep(700); // a poll of the feed later, nothing else arrives
    expect(aliceStream.events.every((e) => e.requesterId === alice.clientId)).toBe(true);
    expect(bobStream.events.every((e) => e.requesterId === bob.clientId)).toBe(true);
    expect(new Set(opsStream.events.map((e) => e.requesterId))).toEqual(new Set([alice.clientId, bob.clientId]));
    expect(oneRequest.events).toEqual([expect.objectContaining({ backupRequestId: mine, status: 'Allowed' })]);
    expect(ids(opsStream.events)).toEqual(ids(opsStream.events).sort());
    for (const client of [aliceStream, bobStream, opsStream, oneRequest]) client.close();
  });

  it('refuses what it must, as problem+json: no token, no read scope, a bad filter or Last-Event-ID', async () => {
    const answer = async (headers: Record<string, string>, query = '') => {
      const client = await SseClient.open(`${receiver.url}/api/v1/events${query}`, headers);
      await expect.poll(() => client.ended, { timeout: 5000 }).toBe(true);
      return { status: client.status, type: client.headers['content-type'], body: client.text };
    };
    expect(await answer({})).toMatchObject({ status: 401, type: expect.stringMatching(/^application\/problem\+json/) as string });
    expect(await answer(auth(writeOnly))).toMatchObject({ status: 403 });
    const badFilter = await answer(auth(alice), '?backupRequestId=not-a-uuid');
    expect(badFilter.status).toBe(400);
    expect(JSON.parse(badFilter.body).errors).toEqual([{ field: 'backupRequestId', message: expect.any(String) as string }]);
    const badId = await answer({ ...auth(alice), 'Last-Event-ID': 'yesterday' });
    expect(badId.status).toBe(400);
    expect(JSON.parse(badId.body).errors[0].field).toBe('Last-Event-ID');
    // an operator's browser session may follow it (the dashboard does)
    const signIn = await call(receiver.url, 'POST', '/admin/session', { json: { apiKey: ops.apiKey } });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const browser = await SseClient.open(`${receiver.url}/api/v1/events`, { cookie });
    clients.push(browser);
    expect(browser.status).toBe(200);
    browser.close();
  });

  it('resumes with Last-Event-ID: every later event once, in order, while new events keep being written', async () => {
    const first = await stream(ops);
    const firstAlice = await stream(alice);
    const start = await live(first);
    const aliceStart = await live(firstAlice);

    // four writers accept and move requests of two clients concurrently, out of id order at commit
    let writing = true;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 40 && (writing || i < 8); i += 1) {
        await request(w % 2 ? bob : alice, ['Allowed', 'Sent', i % 3 ? 'Succeeded' : 'Failed']);
      }
    });
    // both subscribers drop after a while, and come back with the last id they saw
    await expect.poll(() => first.events.length, { timeout: 20_000 }).toBeGreaterThan(30);
    first.close();
    firstAlice.close();
    await sleep(300); // events keep being written meanwhile
    const second = await stream(ops, '', { 'Last-Event-ID': first.lastEventId! });
    // (the page of a browser that opens a new EventSource passes it in the query)
    const secondAlice = await stream(alice, `?lastEventId=${firstAlice.lastEventId!}`);
    writing = false;
    await Promise.all(writers);

    const expected = await outboxAfter(start);
    const expectedAlice = await outboxAfter(aliceStart, { requesterId: alice.clientId });
    expect(expected.length).toBeGreaterThan(100);
    await expect.poll(() => first.events.length + second.events.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(expected.length);
    await expect.poll(() => firstAlice.events.length + secondAlice.events.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(expectedAlice.length);
    await sleep(700);
    // no gap, no repeat, the order of the outbox: exactly the events committed since the first connected
    expect(ids([...first.events, ...second.events])).toEqual(ids(expected));
    expect(ids([...firstAlice.events, ...secondAlice.events])).toEqual(ids(expectedAlice));
    expect(second.events[0]).toEqual(expected[first.events.length]);
    second.close();
    secondAlice.close();

    // `0`: every event kept, from the oldest
    const everything = await stream(ops, '?lastEventId=0');
    const all = await outboxAfter('0');
    await expect.poll(() => everything.events.length, { timeout: 20_000 }).toBe(all.length);
    expect(ids(everything.events)).toEqual(ids(all));
    everything.close();
  });

  it('sends a heartbeat comment every LINEBACKER_EVENTS_HEARTBEAT_MS, moving Last-Event-ID on', async () => {
    const client = await stream(bob);
    const start = await live(client);
    await request(alice, ['Allowed']); // events bob may not see
    await expect.poll(() => client.messages.filter((m) => m.comments.includes('heartbeat')).length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(client.events).toEqual([]);
    // the feed has read alice's events: bob's Last-Event-ID is past them, so a resume starts there
    await expect.poll(() => parseEventId(client.lastEventId!)!, { timeout: 5000 }).toBeGreaterThan(parseEventId(start)!);
    client.close();
  });

  it('ends its streams first when a receiver stops; the client resumes on another receiver with nothing missed', async () => {
    const other = await startTestReceiver({
      DATABASE_URL: db.databaseUrl,
      REDIS_URL: testRedisUrl(),
      LINEBACKER_QUEUE_PREFIX: receiver.config.redis.queuePrefix,
      LINEBACKER_EVENTS_POLL_MS: '500',
    });
    const onOther = await SseClient.open(`${other.url}/api/v1/events`, auth(alice));
    clients.push(onOther);
    await live(onOther);
    const before = await request(alice, ['Allowed']);
    await expect.poll(() => onOther.events.length, { timeout: 10_000 }).toBe(2);

    const stopping = other.close();
    await expect.poll(() => onOther.ended, { timeout: 2000 }).toBe(true); // not after the 7 s drain of the HTTP server
    await stopping;
    const during = await request(alice, ['Allowed', 'Sent']);
    const resumed = await stream(alice, '', { 'Last-Event-ID': onOther.lastEventId! });
    await expect.poll(() => resumed.events.length, { timeout: 10_000 }).toBe(3);
    expect(onOther.events.map((e) => e.backupRequestId)).toEqual([before, before]);
    expect(resumed.events.map((e) => [e.backupRequestId, e.status])).toEqual([
      [during, 'Received'],
      [during, 'Allowed'],
      [during, 'Sent'],
    ]);
    resumed.close();
  });

  it('drops a subscriber that does not read, while another keeps receiving every event', { timeout: 120_000 }, async () => {
    const reader = await stream(ops);
    await live(reader);
    const stalled = await openNonReadingClient(`${receiver.url}/api/v1/events`, auth(ops));
    await expect.poll(async () => metric('linebacker_event_stream_subscribers'), { timeout: 5000 }).toBe(2);
    const before = reader.events.length;

    // a burst of 16,000 events, about 9 MB: more than the kernel's socket buffers hold on loopback
    // (up to ~4 MB sent and some MB received here), so the stalled connection fills up. 8,000
    // requests accepted in one statement, then all refused in another with a 500-character reason
    // (the trigger writes an event per change)
    await pool.query(
      `INSERT INTO backup_requests (backup_request_id, requester_id, backup_job_id, data_date, backup_data_location, status, trace_id)
       SELECT gen_random_uuid(), $1, 'burst-job', $2::date, '/data/burst/' || g, 'Received', 'trace-burst' FROM generate_series(1, $3::int) g`,
      [alice.clientId, today, BURST / 2],
    );
    wakeups.publisher.notify();
    await pool.query(`UPDATE backup_requests SET status = 'NotAllowed', status_reason = repeat('r', 500) WHERE backup_job_id = 'burst-job'`);
    wakeups.publisher.notify();

    await expect.poll(() => reader.events.length - before, { timeout: 60_000 }).toBe(BURST);
    await expect.poll(async () => metric('linebacker_event_stream_disconnects_total', 'reason="slow"'), { timeout: 10_000 }).toBe(1);
    expect(await metric('linebacker_event_stream_subscribers')).toBe(1);

    // the stalled client finds its stream cut short; it resumes from its last whole event and gets the rest
    const text = await stalled.resume();
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    const got = parseSse(body.replace(/\r\n[0-9a-f]+\r\n/g, '').replace(/^[0-9a-f]+\r\n/, '')).messages.filter((m) => m.event === 'status-changed');
    expect(got.length).toBeLessThan(BURST);
    const resumed = await stream(ops, '', { 'Last-Event-ID': got.at(-1)?.id ?? '0' });
    await expect.poll(() => got.length + resumed.events.filter((e) => e.backupJobId === 'burst-job').length, { timeout: 60_000 }).toBe(BURST);
    expect(ids([...got.map((m) => JSON.parse(m.data!) as StatusEvent), ...resumed.events].filter((e) => e.backupJobId === 'burst-job'))).toEqual(
      ids((await outboxAfter('0')).filter((e) => e.backupJobId === 'burst-job')),
    );
    reader.close();
    resumed.close();
  });
});

/** A sample of this receiver's /metrics (undefined when absent). */
async function metric(name: string, labels = ''): Promise<number | undefined> {
  const text = (await call(receiver.url, 'GET', '/metrics', { token: ops.apiKey })).body as string;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}
