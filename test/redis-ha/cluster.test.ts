import type pg from 'pg';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import { warnAboutRedis } from '../../apps/cli/src/start-pipeline.js';
import { call } from '../support/api-client.js';
import { destroyPipeline, pm2LogText, startPipelineWithClient, type PipelineEnv } from '../support/pipeline.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { waitUntilTerminal } from '../support/request-outcomes.js';
import { startSteadyLoad } from '../support/steady-load.js';

/*
 * Redis Cluster (SPEC §9, issue 14 acceptance 4): the whole pipeline under PM2 on a real cluster of
 * three primaries (redis-server --cluster-enabled yes, joined with redis-cli --cluster create),
 * reached as an ACL user (REDIS_USERNAME / REDIS_PASSWORD). Requests are accepted and all reach
 * the status their fate says; /healthz is ok with the right queue counts, /metrics and the queue UI
 * answer; every key of linebacker is in the one slot of its hash tag; no password is shown or logged.
 */

const FAILURE_RATIO = 0.2;
const JOB_MIX = ['active-a', 'active-b', 'active-a', 'inactive', 'unknown'];
const REQUESTS = 60;
const DEFAULT_PASSWORD = 'Cluster-default-pw-1a2b3c';
const USER = { name: 'linebacker', password: 'Cluster-user-pw-7e8f9a' };

let cluster: RedisCluster;
let pipeline: PipelineEnv;
let pool: pg.Pool;
let apiKey: string;

beforeAll(async () => {
  cluster = await startRedisCluster({ primaries: 3, password: DEFAULT_PASSWORD, user: USER });
  ({ pipeline, pool, apiKey } = await startPipelineWithClient('cluster', {
    // one node is enough to find the others
    LINEBACKER_REDIS_CLUSTER_NODES: cluster.nodes.split(',')[0]!,
    REDIS_USERNAME: USER.name,
    REDIS_PASSWORD: USER.password,
    REDIS_URL: 'redis://not-used.invalid:1',
    LINEBACKER_SIMULATOR_DELAY_MS: '100',
    LINEBACKER_SIMULATOR_FAILURE_RATIO: String(FAILURE_RATIO),
    LINEBACKER_HEALTH_REFRESH_MS: '500',
  }));
});

afterAll(async () => {
  await pool?.end();
  if (pipeline) await destroyPipeline(pipeline);
  await cluster?.destroy();
});

const get = (path: string) => call(pipeline.url, 'GET', path, { token: apiKey });

describe('Redis Cluster: the pipeline end to end on three primaries (SPEC §9)', () => {
  it('accepts requests, brings every one to its status, and /healthz, /metrics and the queue UI show the right figures', async () => {
    const load = startSteadyLoad({ url: pipeline.url, apiKey, ratePerSecond: 10, jobMix: JOB_MIX, tag: `cluster-${Date.now()}` });
    await expect.poll(() => load.attempts.length, { timeout: 60_000, interval: 100 }).toBeGreaterThanOrEqual(REQUESTS);
    const attempts = await load.stop();
    expect(attempts.filter((a) => a.status !== 202).map((a) => `#${a.n}: ${a.error ?? a.status}`)).toEqual([]);

    const ids = attempts.map((a) => a.id!);
    const outcomes = await waitUntilTerminal(pool, ids, FAILURE_RATIO, 90_000);
    expect(outcomes.missing).toEqual([]);
    expect(outcomes.open.map((row) => `${row.id}: ${row.status}`)).toEqual([]);
    expect(outcomes.wrong.map((row) => `${row.id}: ${row.status}`)).toEqual([]);
    expect(outcomes.badBackups.map((row) => `${row.id}: ${row.status} with ${row.backups} backups`)).toEqual([]);
    const allowed = outcomes.rows.filter((row) => row.status !== 'NotAllowed').length;
    console.log(`\n=== Redis Cluster: ${ids.length} requests, ${JSON.stringify(outcomes.byStatus)}, all terminal ${(outcomes.waitedMs / 1000).toFixed(1)} s after the last POST ===`);

    // /healthz: ok, Redis up, each queue's count of the jobs this run made (one per request and step)
    const expectedQueues = {
      created: { waiting: 0, active: 0, delayed: 0, failed: 0, completed: ids.length },
      allowed: { waiting: 0, active: 0, delayed: 0, failed: 0, completed: allowed },
      'status-received': { waiting: 0, active: 0, delayed: 0, failed: 0, completed: allowed },
    };
    await expect
      .poll(async () => {
        const { status, body } = await get('/healthz');
        return { status, health: body.status, redis: body.dependencies?.redis?.status, queues: body.queues };
      }, { timeout: 30_000 })
      .toMatchObject({ status: 200, health: 'ok', redis: 'up', queues: expectedQueues });

    // /metrics: the same counts, and the pipeline counters the apps add to the cluster (once a second)
    const scrape = async () => {
      const { status, body } = await get('/metrics');
      const families = parsePrometheusTextFormat(body as string);
      const value = (name: string, labels: Record<string, string>) =>
        Number(families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value);
      return {
        status,
        text: body as string,
        completed: value('linebacker_queue_jobs', { queue: 'created', state: 'completed' }),
        checked: value('linebacker_step_jobs_total', { step: 'created', outcome: 'done' }),
        applied: value('linebacker_step_jobs_total', { step: 'status-received', outcome: 'done' }),
      };
    };
    await expect.poll(async () => ({ ...(await scrape()), text: '' }), { timeout: 30_000 }).toEqual({
      status: 200,
      text: '',
      completed: ids.length,
      checked: ids.length,
      applied: allowed,
    });
    const metrics = await scrape();

    // the queue UI (bull-board) lists the queues and reads the cluster's Redis figures
    const board = await get('/admin/queues/api/queues');
    expect(board.status).toBe(200);
    expect((board.body as { queues: { name: string }[] }).queues.map((q) => q.name).sort()).toEqual(['allowed', 'created', 'status-received']);
    expect((await get('/admin/queues/api/redis/stats')).status).toBe(200);

    // every key of linebacker is in the slot of its hash tag ({prefix}), so multi-key scripts never cross slots
    const first = cluster.connectTo(cluster.ports[0]!);
    const slot = Number(await first.call('CLUSTER', 'KEYSLOT', `{${pipeline.env.LINEBACKER_QUEUE_PREFIX}}`));
    first.disconnect();
    let keys = 0;
    let inSlot = 0;
    for (const port of cluster.ports) {
      const node = cluster.connectTo(port);
      keys += await node.dbsize();
      inSlot += Number(await node.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)));
      node.disconnect();
    }
    expect(keys).toBeGreaterThan(0);
    expect(inSlot).toBe(keys);

    // no password in /healthz, /metrics, the queue UI or any log
    const texts = [JSON.stringify((await get('/healthz')).body), metrics.text, JSON.stringify((await get('/admin/queues/api/redis/stats')).body), await pm2LogText(pipeline)].join('\n');
    expect(texts).not.toContain(USER.password);
    expect(texts).not.toContain(DEFAULT_PASSWORD);
  });

  it('npm start warns, naming the node, when a node of the cluster may evict keys', async () => {
    const config = loadConfig({ LINEBACKER_REDIS_CLUSTER_NODES: cluster.nodes, REDIS_USERNAME: USER.name, REDIS_PASSWORD: USER.password }).redis;
    const quiet: string[] = [];
    await warnAboutRedis(config, (line) => quiet.push(line));
    expect(quiet).toEqual([]);

    const last = cluster.ports.at(-1)!;
    const node = cluster.connectTo(last);
    try {
      await node.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const warnings: string[] = [];
      await warnAboutRedis(config, (line) => warnings.push(line));
      expect(warnings).toEqual([expect.stringContaining(`"allkeys-lru" on 127.0.0.1:${last}`)]);
    } finally {
      await node.config('SET', 'maxmemory-policy', 'noeviction');
      node.disconnect();
    }
  });
});
