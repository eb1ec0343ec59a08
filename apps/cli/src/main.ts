import { Command, InvalidArgumentError } from 'commander';
import { loadConfigOrExit } from '@linebacker/config';
import { createPool, prepareDatabase, upsertBackupJob, type Pool } from '@linebacker/db';
import { BACKUP_PROVIDER_CODES, REQUEST_STATUSES, validateBackupJobDefinition, validateBackupJobId } from '@linebacker/domain';
import { createClient } from './create-client.js';
import { disableClient, enableClient, listClients, rotateClientKey } from './client-lifecycle.js';
import { startPipeline, stopPipeline } from './start-pipeline.js';
import { addWebhookEndpoint, listWebhookEndpointsOf, removeWebhookEndpoint } from './webhook-endpoints.js';

/**
 * The linebacker CLI (`npm run --silent cli -- …`). Results go to stdout as JSON, one object per
 * command; everything else goes to stderr.
 */
const config = loadConfigOrExit();
const program = new Command('linebacker').description('linebacker command line').showHelpAfterError();

async function withDatabase<T>(work: (pool: Pool) => Promise<T>): Promise<T> {
  await prepareDatabase(config.database.url);
  const pool = createPool({
    url: config.database.url,
    max: 1,
    connectTimeoutMs: config.database.connectTimeoutMs,
    applicationName: 'linebacker cli',
    onError: () => {},
  });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

const printJson = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

const integer = (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number)) throw new InvalidArgumentError('must be a whole number');
  return number;
};

program
  .command('migrate')
  .description('create the database if missing and apply pending migrations')
  .action(async () => {
    printJson({ applied: await prepareDatabase(config.database.url) });
  });

const clients = program.command('clients').description('API clients');
clients
  .command('create')
  .description('create a client and print { clientId, apiKey, scopes }; the key is shown only this once')
  .requiredOption('--name <name>', 'a human name for the client')
  .requiredOption('--scopes <scopes>', 'comma-separated: requests:write,requests:read,jobs:admin,ops:read')
  .option('--id <clientId>', 'use this client id (e.g. the sub of its JWTs) instead of a generated one')
  .option('--no-key', 'issue no API key (a client that signs in with JWTs only)')
  .action(async (options: { name: string; scopes: string; id?: string; key: boolean }) => {
    printJson(await withDatabase((pool) => createClient(pool, options)));
  });

clients
  .command('list')
  .description('print every client: id, name, scopes, created, disabled, last used (never a key)')
  .action(async () => {
    printJson({ clients: await withDatabase(listClients) });
  });
clients
  .command('disable <clientId>')
  .description('refuse the client: its sessions end now, its keys and tokens within LINEBACKER_AUTH_CACHE_MS')
  .action(async (clientId: string) => {
    printJson(await withDatabase((pool) => disableClient(pool, clientId)));
  });
clients
  .command('enable <clientId>')
  .description('accept a disabled client again (with its current key)')
  .action(async (clientId: string) => {
    printJson(await withDatabase((pool) => enableClient(pool, clientId)));
  });
clients
  .command('rotate-key <clientId>')
  .description('issue a new key and print { clientId, apiKey, scopes } once; the old key and its sessions stop working')
  .action(async (clientId: string) => {
    printJson(await withDatabase((pool) => rotateClientKey(pool, clientId)));
  });

const jobs = program.command('jobs').description('the backup job catalogue');
jobs
  .command('put <backupJobId>')
  .description('create or replace a backup job and print it')
  .requiredOption('--storage-path <name>', 'storagePathName')
  .requiredOption('--provider <code>', `backupProviderCode: ${BACKUP_PROVIDER_CODES.join(' | ')}`)
  .requiredOption('--days-to-keep <days>', 'daysToKeep, 1-36500', integer)
  .option('--inactive', 'create the job inactive (requests for it are NotAllowed)')
  .option('--hold', 'set holdFlag')
  .action(
    async (
      id: string,
      options: { storagePath: string; provider: string; daysToKeep: number; inactive?: boolean; hold?: boolean },
    ) => {
      const jobId = validateBackupJobId(id);
      const definition = validateBackupJobDefinition({
        storagePathName: options.storagePath,
        backupProviderCode: options.provider,
        daysToKeep: options.daysToKeep,
        isActive: !options.inactive,
        holdFlag: Boolean(options.hold),
      });
      if (!jobId.ok || !definition.ok) {
        const errors = [...(jobId.ok ? [] : jobId.errors), ...(definition.ok ? [] : definition.errors)];
        throw new Error(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
      }
      const { job } = await withDatabase((pool) => upsertBackupJob(pool, { backupJobId: jobId.value, ...definition.value }));
      printJson(job);
    },
  );

const webhooks = program.command('webhooks').description('webhook endpoints of clients (SPEC §8)');
webhooks
  .command('add')
  .description("register an endpoint for a client's status events and print it with its secret (shown only this once)")
  .requiredOption('--client <clientId>', 'whose events it gets')
  .requiredOption('--url <url>', 'an http or https url (private addresses need LINEBACKER_WEBHOOK_ALLOW_PRIVATE=true)')
  .option('--statuses <statuses>', `comma-separated new statuses to send (default: all): ${REQUEST_STATUSES.join(',')}`)
  .action(async (options: { client: string; url: string; statuses?: string }) => {
    printJson(await withDatabase((pool) => addWebhookEndpoint(pool, config.webhooks, options)));
  });
webhooks
  .command('list')
  .description("print every endpoint (or one client's): url, statuses, whether it is failing (never a secret)")
  .option('--client <clientId>', "only this client's")
  .action(async (options: { client?: string }) => {
    printJson({ endpoints: await withDatabase((pool) => listWebhookEndpointsOf(pool, options.client)) });
  });
webhooks
  .command('remove <endpointId>')
  .description('delete an endpoint and its deliveries')
  .action(async (endpointId: string) => {
    printJson(await withDatabase((pool) => removeWebhookEndpoint(pool, endpointId)));
  });

const pipeline = program.command('pipeline').description('the PM2-managed pipeline (npm start / npm stop)');
pipeline.command('start').description('migrate and start every app under PM2').action(() => startPipeline(config));
pipeline.command('stop').description('stop every app of the pipeline').action(() => stopPipeline());

try {
  await program.parseAsync();
  process.exit(0);
} catch (err) {
  process.stderr.write(`linebacker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
