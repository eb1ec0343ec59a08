import { loadConfigOrExit, type Config } from '@linebacker/config';
import { createLogger, type Logger } from './logger.js';
import { Shutdown, type Releaser } from './shutdown.js';

export interface AppContext {
  config: Config;
  logger: Logger;
  /** Registers how to release a resource; releasers run last-registered-first on shutdown. */
  onShutdown: (name: string, release: Releaser) => void;
  /** True once a shutdown signal arrived: stop taking new work. */
  isShuttingDown: () => boolean;
}

/**
 * The frame of every linebacker process: config → logger → start → ready → graceful shutdown.
 *
 * - `start` opens what the app needs, registering a releaser for each; it resolves when the app
 *   can really work, and only then is PM2 told `ready` (`wait_ready`).
 * - SIGINT / SIGTERM run the releasers under LINEBACKER_SHUTDOWN_TIMEOUT_MS (below PM2's
 *   `kill_timeout`) and exit 0; a second signal exits at once.
 * - An error nobody handled is logged with `{ err }` and ends the process: PM2 restarts it, which is
 *   safe because every handler is idempotent.
 */
export async function runApp(name: string, start: (context: AppContext) => Promise<void>): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(name, config.logLevel, { pm2ClusterMode: config.pm2ClusterMode });
  const shutdown = new Shutdown(logger, config.shutdownTimeoutMs);

  const stop = async (reason: string, exitCode: number): Promise<never> => {
    logger.info({ reason }, 'shutting down');
    const clean = await shutdown.run();
    logger.info({ clean }, 'stopped');
    logger.flush();
    process.exit(exitCode);
  };

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (shutdown.started) {
        logger.warn({ signal }, 'second signal: exiting now');
        logger.flush();
        process.exit(1);
      }
      void stop(signal, 0);
    });
  }
  const die = (err: unknown, what: string) => {
    logger.fatal({ err }, what);
    logger.flush();
    process.exit(1);
  };
  process.on('uncaughtException', (err) => die(err, 'uncaught exception'));
  process.on('unhandledRejection', (err) => die(err, 'unhandled rejection'));

  const context: AppContext = {
    config,
    logger,
    onShutdown: (resource, release) => shutdown.register(resource, release),
    isShuttingDown: () => shutdown.started,
  };
  try {
    await start(context);
  } catch (err) {
    logger.fatal({ err }, 'could not start');
    await stop('start failed', 1);
  }
  if (shutdown.started) return;
  process.send?.('ready');
  logger.info('ready');
}
