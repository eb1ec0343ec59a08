import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { AppContext } from '@linebacker/runtime';
import type { Health } from '../health/start-health.js';
import { closeServer, listen } from '../http-server.js';
import { createReceiverApp, type ReceiverDeps } from './receiver-app.js';

export interface ApiDeps extends Pick<ReceiverDeps, 'pool' | 'redis' | 'createdQueue' | 'queues' | 'statistics' | 'wakeups' | 'events'> {
  /** The /healthz snapshot, also what admission decides from (undefined: no snapshot, admit). */
  health: Pick<Health, 'current' | 'localPm2'>;
}

/** The HTTP API, the operator pages and the probes, listening on the configured address. */
export async function startApi(context: AppContext, deps: ApiDeps): Promise<{ port: number; app: Express }> {
  const { config, logger, onShutdown, isShuttingDown, work } = context;
  const app = createReceiverApp({
    ...deps,
    logger,
    http: config.http,
    webhooks: config.webhooks,
    // well above a slow but working refresh (the interface queue's probe alone may take 15 s)
    admission: { ...config.admission, staleAfterMs: Math.max(60_000, 10 * config.health.refreshMs) },
    isShuttingDown,
    work,
    hostName: config.instance.hostName,
  });
  const server = await listen(app, config.http.host, config.http.port, config.http.keepAliveTimeoutMs);
  // the first releaser to run; the last second of the shutdown deadline is left to the others
  onShutdown('http server', () => closeServer(server, config.shutdownTimeoutMs - 1000));
  // before it (releasers run last-registered-first): event streams never end by themselves, so they
  // are ended at once and their clients resume on another receiver
  onShutdown('event streams', () => deps.events.feed.stop());
  const { port } = server.address() as AddressInfo;
  logger.info({ host: config.http.host, port }, 'listening');
  return { port, app };
}
