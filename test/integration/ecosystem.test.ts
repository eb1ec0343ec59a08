import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ECOSYSTEM_FILE } from '../../apps/cli/src/pipeline-apps.js';

/*
 * ecosystem.config.js as `npm start` loads it, in a process of its own since it reads the
 * environment when it is loaded (it needs libs/config built, as npm start and test:integration do
 * first): which apps this host runs (LINEBACKER_HOST_APPS) and which apps /healthz expects
 * somewhere in the cluster.
 */

const run = promisify(execFile);
const CONNECTION_STRING = 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:1/a;';

async function ecosystem(env: Record<string, string>): Promise<{ name: string; pipelineApps?: string }[]> {
  const script = `const { apps } = require(${JSON.stringify(ECOSYSTEM_FILE)});
    process.stdout.write(JSON.stringify(apps.map((app) => ({ name: app.name, pipelineApps: app.env?.LINEBACKER_PIPELINE_APPS }))));`;
  const { stdout } = await run(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, ...env } });
  return JSON.parse(stdout) as { name: string; pipelineApps?: string }[];
}

const WORKERS = ['check-allowed', 'send-to-interface', 'external-queue-receiver', 'receive-status', 'notifier'];

describe('ecosystem.config.js', () => {
  it('runs every app by default; /healthz expects each linebacker app somewhere, not Azurite', async () => {
    const embedded = await ecosystem({});
    expect(embedded.map((app) => app.name)).toEqual(['azurite', 'http-receiver', ...WORKERS, 'interface-simulator']);
    expect(embedded.find((app) => app.name === 'http-receiver')?.pipelineApps).toBe(['http-receiver', ...WORKERS, 'interface-simulator'].join(','));

    const external = await ecosystem({ AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING });
    expect(external.map((app) => app.name)).toEqual(['http-receiver', ...WORKERS]);
    expect(external[0]?.pipelineApps).toBe(['http-receiver', ...WORKERS].join(','));
  });

  it('runs only the apps of LINEBACKER_HOST_APPS on this host, and still expects every app of the pipeline', async () => {
    const workersOnly = await ecosystem({ AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING, LINEBACKER_HOST_APPS: 'receive-status,check-allowed' });
    expect(workersOnly.map((app) => app.name)).toEqual(['check-allowed', 'receive-status']);

    const receiverOnly = await ecosystem({ AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING, LINEBACKER_HOST_APPS: 'http-receiver' });
    expect(receiverOnly).toEqual([{ name: 'http-receiver', pipelineApps: ['http-receiver', ...WORKERS].join(',') }]);
  });

  it('refuses an app name it does not know, naming the ones it has', async () => {
    await expect(ecosystem({ AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING, LINEBACKER_HOST_APPS: 'check-allowed,notifire' })).rejects.toThrow(
      /LINEBACKER_HOST_APPS: no app named notifire here \(the apps: http-receiver, check-allowed/,
    );
  });
});
