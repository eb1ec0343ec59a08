import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callWithAgent, type ApiResponse } from '../support/api-client.js';
import { destroyPipeline, pm2, pm2List, simulatorDuplicateWarnings, startPipelineWithClient, type PipelineEnv } from '../support/pipeline.js';

/*
 * Zero-downtime reloads (issue 12): `pm2 reload` of any app under continuous load costs nothing.
 *   - http-receiver (PM2 cluster mode, one instance as by default): reloaded while keep-alive
 *     clients keep POSTing: every POST is answered 202, none fails.
 *   - every worker, one after the other under load: every request still ends terminal, each step
 *     ran each request's job exactly once, nothing needed repair by reconciliation, and the
 *     interface got exactly one message per request.
 *
 * The clients are those a backup client would use: Node's fetch (undici: a pool, idle connections
 * dropped 2 s before the keep-alive timeout the server announces) and node:http agents with
 * keepAlive (a connection each, kept while the client pauses; those with a `timeout` option honour
 * the server's announcement, the others keep an idle connection for good and reuse it within the
 * server's keep-alive timeout). Some pause less than 300 ms between requests, most for seconds:
 * those hold idle connections while a receiver stops, which is where a POST used to be lost (the
 * stopping receiver closed them 1.5 s into its shutdown, racing clients that sent on them).
 *
 * LINEBACKER_CHAOS=short (default; part of `npm test`): 2 receiver reloads, each worker once;
 * full (`npm run test:chaos`): 5 receiver reloads, each worker twice.
 */

const TERMINAL = ['NotAllowed', 'Succeeded', 'Failed'];
const WORKER_APPS = ['check-allowed', 'send-to-interface', 'external-queue-receiver', 'receive-status'];
const FULL = process.env.LINEBACKER_CHAOS === 'full';
const RECEIVER_RELOADS = FULL ? 5 : 2;
const WORKER_RELOAD_ROUNDS = FULL ? 2 : 1;

let pipeline: PipelineEnv;
let pool: pg.Pool;
let apiKey: string;

// ---------------------------------------------------------------------------------------------
// keep-alive load

type Post = (json: unknown) => Promise<ApiResponse>;

const PATH = '/api/v1/backup-requests';
/** fetch, on Node's global undici pool (shared by every fetch client of this file). */
const fetchPost = (): Post => (json) => call(pipeline.url, 'POST', PATH, { token: apiKey, json });
/** node:http with an agent of its own: one connection, kept between requests. */
const agentPost = (agent: Agent): Post => (json) => callWithAgent(agent, pipeline.url, 'POST', PATH, { token: apiKey, json });

interface Outcome {
  client: string;
  start: number;
  end: number;
  status?: number;
  error?: string;
  id?: string;
}

interface LoadClient {
  name: string;
  post: Post;
  /** Pause between a response and the next request: [min, max] ms. */
  pauseMs: [number, number];
}

const JOBS = ['active-a', 'active-b', 'active-a', 'inactive'];
let sequence = 0;

/** Each client POSTs, pauses, POSTs again, until stopped; resolves with every outcome. */
function startLoad(clients: LoadClient[]): { outcomes: Outcome[]; stop: () => Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async ({ name, post, pauseMs: [min, max] }: LoadClient) => {
    while (running) {
      const n = sequence++;
      const json = { backupJobId: JOBS[n % JOBS.length], dataDate: new Date().toISOString().slice(0, 10), backupDataLocation: `/data/reload/${n}` };
      const outcome: Outcome = { client: name, start: Date.now(), end: 0 };
      try {
        const { status, body } = await post(json);
        outcome.status = status;
        if (status === 202 || status === 200) outcome.id = (body as { backupRequestId: string }).backupRequestId;
        else outcome.error = JSON.stringify(body).slice(0, 200);
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        outcome.error = cause?.code ?? cause?.message ?? (err as { code?: string }).code ?? (err as Error).message;
      }
      outcome.end = Date.now();
      outcomes.push(outcome);
      await sleep(min + Math.random() * (max - min));
    }
  };
  const loops = Promise.all(clients.map(loop));
  return {
    outcomes,
    stop: async () => {
      running = false;
      await loops;
      return outcomes;
    },
  };
}

const agents: Agent[] = [];
function keepAliveAgent(options: { timeout?: number } = {}): Agent {
  const agent = new Agent({ keepAlive: true, ...options });
  agents.push(agent);
  return agent;
}

/**
 * Busy clients (a request every few hundred ms) and clients that pause for seconds, on fetch and
 * on node:http keep-alive agents: those hold idle connections while a receiver stops.
 */
function keepAliveClients(): LoadClient[] {
  const clients: LoadClient[] = [];
  for (let i = 0; i < 3; i += 1) {
    clients.push({ name: `fetch busy ${i}`, post: fetchPost(), pauseMs: [0, 300] });
    clients.push({ name: `agent busy ${i}`, post: agentPost(keepAliveAgent()), pauseMs: [0, 300] });
    clients.push({ name: `fetch slow ${i}`, post: fetchPost(), pauseMs: [500, 4_000] });
    // agents that honour the server's Keep-Alive hint (they have a `timeout`), pausing past it
    clients.push({ name: `agent idle ${i}`, post: agentPost(keepAliveAgent({ timeout: 60_000 })), pauseMs: [2_000, 8_000] });
  }
  // agents that keep an idle connection for good, reusing it within the server's keep-alive timeout
  for (let i = 0; i < 40; i += 1) clients.push({ name: `agent slow ${i}`, post: agentPost(keepAliveAgent()), pauseMs: [1_000, 3_000] });
  return clients;
}

const failed = (o: Outcome) => o.error !== undefined || (o.status !== 202 && o.status !== 200);

/** Waits until every request is terminal; returns those that are not at the deadline. */
async function waitTerminal(ids: string[], timeoutMs: number): Promise<{ id: string; status: string | undefined }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ id: string; status: string }>(
      'SELECT backup_request_id AS id, status FROM backup_requests WHERE backup_request_id = ANY($1)',
      [ids],
    );
    const status = new Map(rows.map((row) => [row.id, row.status]));
    const open = ids.filter((id) => !TERMINAL.includes(status.get(id) ?? 'missing')).map((id) => ({ id, status: status.get(id) }));
    if (open.length === 0 || Date.now() > deadline) return open;
    await sleep(500);
  }
}

async function waitOnline(app: string, oldPids: number[]): Promise<void> {
  await expect
    .poll(async () => (await pm2List(pipeline)).filter((p) => p.name === app && p.pm2_env.status === 'online' && !oldPids.includes(p.pid)).length, {
      timeout: 60_000,
      interval: 200,
    })
    .toBeGreaterThan(0);
}

/** `pm2 reload <app>`, returning once a new process is online; how long it took. */
async function reload(app: string): Promise<{ start: number; end: number }> {
  const oldPids = (await pm2List(pipeline)).filter((p) => p.name === app).map((p) => p.pid);
  const start = Date.now();
  await pm2(pipeline, 'reload', app);
  await waitOnline(app, oldPids);
  return { start, end: Date.now() };
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  ({ pipeline, pool, apiKey } = await startPipelineWithClient('reload', {
    LINEBACKER_INTERFACE_REQUEST_QUEUE: 'reload-requests',
    LINEBACKER_INTERFACE_STATUS_QUEUE: 'reload-statuses',
    LINEBACKER_SIMULATOR_DELAY_MS: '0',
    LINEBACKER_SIMULATOR_FAILURE_RATIO: '0.2',
    LINEBACKER_SIMULATOR_MALFORMED_RATIO: '0',
  }));
});

afterAll(async () => {
  for (const agent of agents) agent.destroy();
  await pool?.end();
  if (pipeline) await destroyPipeline(pipeline);
});

describe('pm2 reload under continuous load (issue 12)', () => {
  it(`answers every keep-alive POST while the http-receiver is reloaded ${RECEIVER_RELOADS} times`, async () => {
    const load = startLoad(keepAliveClients());
    await sleep(3_000);
    const reloads: { start: number; end: number }[] = [];
    for (let i = 0; i < RECEIVER_RELOADS; i += 1) {
      reloads.push(await reload('http-receiver'));
      await sleep(1_000);
    }
    await sleep(2_000);
    const outcomes = await load.stop();

    const t0 = reloads[0]!.start;
    const failures = outcomes
      .filter(failed)
      .map((o) => `${o.client}: ${o.error ?? o.status} at ${((o.start - t0) / 1000).toFixed(2)} s (+${o.end - o.start} ms)`);
    console.log(
      `${outcomes.length} POSTs, ${failures.length} failed; reloads at`,
      reloads.map((r) => `${((r.start - t0) / 1000).toFixed(1)} s (${r.end - r.start} ms)`).join(', '),
    );
    expect(outcomes.length).toBeGreaterThan(200);
    expect(failures).toEqual([]);

    const accepted = outcomes.flatMap((o) => (o.id ? [o.id] : []));
    expect(await waitTerminal(accepted, 120_000)).toEqual([]);
    expect(await simulatorDuplicateWarnings(pipeline)).toEqual([]);
  });

  it('loses no job and runs none twice while every worker is reloaded under load', async () => {
    const load = startLoad(keepAliveClients());
    await sleep(2_000);
    const reloads: string[] = [];
    for (let round = 0; round < WORKER_RELOAD_ROUNDS; round += 1) {
      for (const app of WORKER_APPS) {
        const { start, end } = await reload(app);
        reloads.push(`${app} ${end - start} ms`);
        await sleep(2_000);
      }
    }
    const outcomes = await load.stop();
    console.log(`${outcomes.length} POSTs; reloads: ${reloads.join(', ')}`);
    expect(outcomes.filter(failed)).toEqual([]);

    const accepted = outcomes.flatMap((o) => (o.id ? [o.id] : []));
    expect(await waitTerminal(accepted, 120_000)).toEqual([]);

    // Every job of every step ran once (this file's requests, both tests): as many `done` as
    // requests that passed the step, no `no-op` (a job run again finds its request past the step),
    // and nothing re-added by reconciliation (a job lost).
    const { rows } = await pool.query<{ all: number; allowed: number }>(
      `SELECT count(*)::int AS all, (count(*) FILTER (WHERE status IN ('Succeeded', 'Failed')))::int AS allowed FROM backup_requests`,
    );
    const expected = { created: rows[0]!.all, allowed: rows[0]!.allowed, 'status-received': rows[0]!.allowed };
    const counters = async () => (await call(pipeline.url, 'GET', '/healthz', { token: apiKey })).body.counters as Record<string, number>;
    await expect
      .poll(async () => {
        const c = await counters();
        return Object.fromEntries(Object.keys(expected).map((step) => [step, (c[`jobs:${step}:done`] ?? 0) + (c[`jobs:${step}:no-op`] ?? 0)]));
      }, { timeout: 20_000, interval: 1_000 })
      .toEqual(expected);
    const c = await counters();
    const runTwiceOrRepaired = Object.entries(c).filter(([field, n]) => n > 0 && (field.endsWith(':no-op') || field.startsWith('reconcile:')));
    expect(runTwiceOrRepaired).toEqual([]);

    // the interface saw exactly one message per request, and every success has one Backup
    expect(await simulatorDuplicateWarnings(pipeline)).toEqual([]);
    const backups = await pool.query<{ id: string }>(
      `SELECT r.backup_request_id AS id FROM backup_requests r LEFT JOIN backups b USING (backup_request_id)
       WHERE r.status = 'Succeeded' GROUP BY 1 HAVING count(b.*) <> 1`,
    );
    expect(backups.rows).toEqual([]);
  });
});
