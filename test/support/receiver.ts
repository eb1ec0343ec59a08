import type { Express } from 'express';
import { loadConfig, type Config } from '@linebacker/config';
import { createLogger, Shutdown, WorkInProgress, type AppContext } from '@linebacker/runtime';
import { createAzureMessageQueue } from '@linebacker/interface-queue';
import { startReceiver } from '../../apps/http-receiver/src/start-receiver.js';
import { startAzurite, type Azurite } from './azurite.js';
import { testRedisUrl } from './test-database.js';

export interface TestReceiver {
  url: string;
  config: Config;
  /** The receiver's Express app (for route introspection). */
  app: Express;
  /** Graceful shutdown, as on SIGINT. */
  close(): Promise<void>;
}

/**
 * An app context as runApp gives one (config, logger, shutdown), with the given environment on
 * top of quiet defaults (a free port on loopback). Set LINEBACKER_TEST_LOG=debug to see its logs.
 */
export function testAppContext(
  env: Record<string, string>,
  options: { logDestination?: NodeJS.WritableStream } = {},
): { context: AppContext; close: () => Promise<void> } {
  const config = loadConfig({
    LINEBACKER_HTTP_HOST: '127.0.0.1',
    LINEBACKER_HTTP_PORT: '0',
    LINEBACKER_LOG_LEVEL: process.env.LINEBACKER_TEST_LOG ?? 'silent',
    LINEBACKER_DB_CONNECT_TIMEOUT_MS: '1000',
    ...env,
  });
  const logger = createLogger('http-receiver', config.logLevel, { destination: options.logDestination });
  const shutdown = new Shutdown(logger, config.shutdownTimeoutMs);
  return {
    context: {
      app: 'http-receiver',
      config,
      logger,
      onShutdown: (name, release) => shutdown.register(name, release),
      isShuttingDown: () => shutdown.started,
      work: new WorkInProgress(),
    },
    close: async () => void (await shutdown.run()),
  };
}

/** Runs the real http-receiver wiring (start-receiver.ts) in this process on a free port. */
export async function startTestReceiver(env: Record<string, string>, options: { logDestination?: NodeJS.WritableStream } = {}): Promise<TestReceiver> {
  const { context, close } = testAppContext(env, options);
  const { port, app } = await startReceiver(context);
  return { url: `http://127.0.0.1:${port}`, config: context.config, app, close };
}

/**
 * A receiver whose interface queue is an Azurite of its own, with the status queue in place (the
 * external-queue-receiver creates it in a real pipeline) and a fast /healthz refresh: for the tests
 * of /healthz, of what is decided from it, and of the pages that show it. `env` goes on top.
 */
export async function startReceiverWithAzurite(
  databaseUrl: string,
  queuePrefix: string,
  env: Record<string, string> = {},
): Promise<{ receiver: TestReceiver; azurite: Azurite }> {
  const azurite = await startAzurite();
  await createAzureMessageQueue(azurite.connectionString, 'backup-statuses').ensureExists();
  const receiver = await startTestReceiver({
    DATABASE_URL: databaseUrl,
    REDIS_URL: testRedisUrl(),
    LINEBACKER_QUEUE_PREFIX: queuePrefix,
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    LINEBACKER_HEALTH_REFRESH_MS: '200',
    ...env,
  });
  return { receiver, azurite };
}
