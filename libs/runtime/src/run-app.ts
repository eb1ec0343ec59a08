import { loadConfigOrExit, type Config } from '@linebacker/config';
import { createLogger, type Logger } from './logger.js';
import { Shutdown, type Releaser } from './shutdown.js';
import { withTimeout } from './with-timeout.js';
import { WorkInProgress } from './work-in-progress.js';

export interface AppContext {
  /** The app's name (its PM2 app name): `http-receiver`, `check-allowed`, … */
  app: string;
  config: Config;
  logger: Logger;
  /** Registers how to release a resource; releasers run last-registered-first on shutdown. */
  onShutdown: (name: string, release: Releaser) => void;
  /** True once a shutdown signal arrived: stop taking new work. */
  isShuttingDown: () => boolean;
  /** Work in progress (jobs, HTTP requests) that the app counts, reported by the instance registry. */
  work: WorkInProgress;
}

export interface RunAppOptions {
  /**
   * Announces the instance once `start` has resolved (libs/queues `announceInstance`: the instance
   * registry of SPEC §9, which libs/runtime cannot import); PM2 is told `ready` once its promise
   * resolves, or after ANNOUNCE_WAIT_MS (Redis may be down: an app that can work says so anyway).
   * Its releasers, registered last, run first at shutdown, so a stopping instance leaves the
   * registry before it closes anything.
   */
  announce?: (context: AppContext) => Promise<void> | void;
}

/** The longest `ready` waits for the instance's first announcement. */
const ANNOUNCE_WAIT_MS = 1000;

/**
 * The frame of every linebacker process: config → logger → start → ready → graceful shutdown.
 *
 * - `start` opens what the app needs, registering a releaser for each; it resolves when the app
 *   can really work, and only then is the instance announced (`options.announce`) and PM2 told
 *   `ready` (`wait_ready`).
 * - SIGINT / SIGTERM run the releasers under LINEBACKER_SHUTDOWN_TIMEOUT_MS (below PM2's
 *   `kill_timeout`) and exit 0; a second signal exits at once.
 * - An error nobody handled is logged with `{ err }` and ends the process: PM2 restarts it, which is
 *   safe because every handler is idempotent.
 */
export async function runApp(
  name: string,
  start: (context: AppContext) => Promise<void>,
  options: RunAppOptions = {},
): Promise<void> {
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
    app: name,
    config,
    logger,
    onShutdown: (resource, release) => shutdown.register(resource, release),
    isShuttingDown: () => shutdown.started,
    work: new WorkInProgress(),
  };
  try {
    await start(context);
  } catch (err) {
    logger.fatal({ err }, 'could not start');
    await stop('start failed', 1);
  }
  if (shutdown.started) return;
  if (options.announce) await withTimeout(Promise.resolve(options.announce(context)), ANNOUNCE_WAIT_MS, undefined);
  process.send?.('ready');
  logger.info('ready');
}
