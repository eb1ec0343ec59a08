import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-connection.js';
import type { Logger } from 'pino';
import type { AppContext } from '@linebacker/runtime';
import { createProducerConnection } from './redis-connection.js';
import { removeInstance, writeInstance, type InstanceRecord } from './instance-registry.js';

export type InstanceIdentity = Pick<InstanceRecord, 'host' | 'app' | 'pid' | 'version' | 'startedAt'>;

export interface InstanceHeartbeat {
  /** Resolves once the first beat was tried (written, or failed). */
  firstBeat: Promise<void>;
  /** Stops beating and removes the instance from the registry (graceful shutdown). */
  stop(): Promise<void>;
}

/** linebacker's version, from the repository's package.json (the apps run from this checkout). */
function linebackerVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Who this process is, for the registry. */
export function instanceIdentity(app: string, host: string): InstanceIdentity {
  return {
    host,
    app,
    pid: process.pid,
    version: linebackerVersion(),
    startedAt: new Date(Date.now() - Math.round(process.uptime() * 1000)).toISOString(),
  };
}

/**
 * CPU used since the previous call, in percent of one core (process.cpuUsage: user + system);
 * the first call measures since the process started.
 */
function cpuMeter(): () => number {
  let previous = { usage: { user: 0, system: 0 }, atUs: performance.timeOrigin * 1000 };
  return () => {
    const usage = process.cpuUsage();
    const atUs = (performance.timeOrigin + performance.now()) * 1000;
    const usedUs = usage.user - previous.usage.user + (usage.system - previous.usage.system);
    const elapsedUs = atUs - previous.atUs;
    previous = { usage, atUs };
    return elapsedUs > 0 ? Math.round((usedUs / elapsedUs) * 1000) / 10 : 0;
  };
}

/**
 * Announces this instance every `heartbeatMs` (SPEC §9): one pipelined SET … PX + ZADD per beat
 * (instance-registry.ts). A beat that fails (Redis down or not connected yet) is logged once per
 * outage, never thrown: the app goes on working, and the next beat after the outage announces it
 * again. Beats never overlap, and the timer does not keep the process alive.
 */
export function startInstanceHeartbeat(options: {
  redis: RedisClient;
  prefix: string;
  identity: InstanceIdentity;
  heartbeatMs: number;
  activeJobs: () => number;
  log: Logger;
}): InstanceHeartbeat {
  const { redis, prefix, identity, heartbeatMs, log } = options;
  const cpuPercent = cpuMeter();
  let failing = false;
  let stopped = false;
  let beating: Promise<void> | undefined;

  const announce = async () => {
    const record: InstanceRecord = {
      ...identity,
      lastSeenAt: new Date().toISOString(),
      memoryBytes: process.memoryUsage.rss(),
      cpuPercent: cpuPercent(),
      activeJobs: options.activeJobs(),
      heartbeatMs,
    };
    try {
      if (redis.status !== 'ready') throw new Error(`Redis connection is ${redis.status}`);
      await writeInstance(redis, prefix, record);
      if (failing) log.info('announced in the instance registry again');
      failing = false;
    } catch (err) {
      if (!failing) log.warn({ err }, 'could not announce this instance in the instance registry (Redis); trying every heartbeat, logged once until it works');
      failing = true;
    }
  };
  let firstBeatDone: () => void = () => {};
  const firstBeat = new Promise<void>((resolve) => (firstBeatDone = resolve));
  const beat = () => {
    if (stopped || beating) return;
    beating = announce().finally(() => {
      beating = undefined;
      firstBeatDone();
    });
  };

  const timer = setInterval(beat, heartbeatMs);
  timer.unref();
  // the first beat as soon as the connection is up (a new connection is still connecting)
  if (redis.status === 'ready') beat();
  else redis.once('ready', beat);

  return {
    firstBeat,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      redis.off('ready', beat);
      await beating;
      await removeInstance(redis, prefix, identity).catch((err: unknown) =>
        log.debug({ err }, 'could not remove this instance from the registry; it expires after 3 heartbeats'),
      );
    },
  };
}

/**
 * The instance registry for an app run by runApp (its `announce` option): a heartbeat on a Redis
 * connection of its own, with the app's work in progress as `activeJobs`. Its releaser removes the
 * instance first thing at shutdown. Resolves once the first beat was tried, so that runApp tells
 * PM2 `ready` with the instance already in the registry: during a `pm2 reload` the new instance is
 * announced before the old one leaves.
 */
export function announceInstance(context: AppContext): Promise<void> {
  const { app, config, logger, onShutdown, work } = context;
  const connection = createProducerConnection(config.redis, 'linebacker:instance-registry');
  connection.on('error', (err) => logger.debug({ err }, 'Redis instance registry connection error'));
  const heartbeat = startInstanceHeartbeat({
    redis: connection,
    prefix: config.redis.queuePrefix,
    identity: instanceIdentity(app, config.instance.hostName),
    heartbeatMs: config.instance.heartbeatMs,
    activeJobs: () => work.count,
    log: logger,
  });
  onShutdown('instance registry', async () => {
    await heartbeat.stop();
    connection.disconnect();
  });
  return heartbeat.firstBeat;
}
