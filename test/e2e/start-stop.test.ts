import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api-client.js';
import { destroyPipeline, isolatedPipelineEnv, npm, pm2List, type PipelineEnv } from '../support/pipeline.js';

let pipeline: PipelineEnv;

beforeAll(async () => {
  pipeline = await isolatedPipelineEnv({ LINEBACKER_HTTP_INSTANCES: '2' });
});
afterAll(async () => {
  if (pipeline) await destroyPipeline(pipeline);
});

describe('npm start / npm stop under PM2 (SPEC §7)', () => {
  it('starts the receiver in cluster mode with the workers, serves a CLI-made client, and stops', async () => {
    const started = await npm(pipeline, 'start');
    expect(started.stdout).toContain(`linebacker is running at ${pipeline.url}`);

    const processes = await pm2List(pipeline);
    const receivers = processes.filter((p) => p.name === 'http-receiver');
    expect(receivers).toHaveLength(2);
    for (const p of receivers) expect(p.pm2_env).toMatchObject({ status: 'online', exec_mode: 'cluster_mode' });
    // every linebacker app with the V8 heap caps that keep it small under load; Azurite with the
    // semi-space cap only (issue 6)
    for (const p of processes) {
      const expected = p.name === 'azurite' ? ['--max-semi-space-size=8'] : ['--max-old-space-size=96', '--max-semi-space-size=8'];
      expect(p.pm2_env.node_args, p.name).toEqual(expected);
    }

    const created = await npm(pipeline, 'run', '--silent', 'cli', '--', 'clients', 'create', '--name', 'e2e', '--scopes', 'requests:write,requests:read');
    const client = JSON.parse(created.stdout) as { clientId: string; apiKey: string; scopes: string[] };
    expect(client.scopes).toEqual(['requests:write', 'requests:read']);

    const dataDate = new Date().toISOString().slice(0, 10);
    const posted = await call(pipeline.url, 'POST', '/api/v1/backup-requests', {
      token: client.apiKey,
      json: { backupJobId: 'e2e-job', dataDate, backupDataLocation: '/data/e2e' },
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ status: 'Received', requesterId: client.clientId });
    const location = posted.headers.get('location');
    expect(location).toBe(`/api/v1/backup-requests/${posted.body.backupRequestId}`);

    const fetched = await call(pipeline.url, 'GET', location!, { token: client.apiKey });
    expect(fetched.status).toBe(200);
    expect(fetched.body.history[0]).toEqual({ status: 'Received', at: posted.body.receivedAt, reason: null });
    // no such backup job: the pipeline refuses it
    await expect
      .poll(async () => (await call(pipeline.url, 'GET', location!, { token: client.apiKey })).body.status, { timeout: 20_000 })
      .toBe('NotAllowed');

    expect((await call(pipeline.url, 'POST', '/api/v1/backup-requests', { json: {} })).status).toBe(401);

    await npm(pipeline, 'stop');
    await expect(fetch(`${pipeline.url}/livez`)).rejects.toThrow();
  });
});
