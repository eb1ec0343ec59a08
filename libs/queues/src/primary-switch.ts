import { Redis } from 'ioredis';
import type { HostPort } from '@linebacker/config';

/**
 * Moves a process's Sentinel connections to the new primary as soon as the Sentinels announce it
 * (`+switch-master`). Redis Sentinel disconnects the clients of an old primary only when it
 * demotes it, and in a switchover (`SENTINEL FAILOVER`, the old primary alive) that is up to 10 s
 * after the replica was promoted (Sentinel looks at its servers every 10 s): meanwhile the old
 * primary still takes writes, which are lost when it becomes a replica. Measured in
 * test/redis-ha/sentinel-failover.test.ts: all the pipeline's connections on the new primary
 * 11.6 s after the switchover without this (and 85 reply wake-ups re-added by reconciliation
 * afterwards), 1.5-1.7 s with it.
 *
 * One subscriber per Sentinel per process (not per connection, as ioredis' own `failoverDetector`
 * does, which in the same test also left connections stuck for good after a kill). The subscribers
 * live while the process has a Sentinel connection open.
 */
export interface SwitchWatch {
  sentinels: HostPort[];
  name: string;
  sentinelPassword?: string;
  retryStrategy: (times: number) => number;
}

const SWITCH_CHANNEL = '+switch-master';

/** Per set of Sentinels and primary name: the connections watched, and the subscribers. */
const watches = new Map<string, { watched: Set<Redis>; subscribers: Redis[] }>();

/** `<name> <old ip> <old port> <new ip> <new port>` → the new primary, when the message is about `name`. */
function newPrimary(message: string, name: string): { host: string; port: number } | undefined {
  const [master, , , host, port] = message.split(' ');
  return master === name && host !== undefined && port !== undefined ? { host, port: Number(port) } : undefined;
}

/** Whether `connection` is connected to `primary` (the address the Sentinels announce, usually an IP). */
function isOn(connection: Redis, primary: { host: string; port: number }): boolean {
  const { remoteAddress, remotePort } = connection.stream;
  return remotePort === primary.port && remoteAddress?.replace(/^::ffff:/, '') === primary.host;
}

/**
 * Reconnects (asking the Sentinels again) every ready connection that is not on the new primary.
 * Every Sentinel announces the switch once it knows it, so one that still named the old primary
 * at the reconnect is corrected by the next announcement.
 */
function moveConnections(watched: Set<Redis>, primary: { host: string; port: number }): void {
  for (const connection of watched) {
    // (only ready ones: one still connecting asks the Sentinels anyway)
    if (connection.status === 'ready' && !isOn(connection, primary)) connection.disconnect(true);
  }
}

function subscribe(watch: SwitchWatch, watched: Set<Redis>): Redis[] {
  return watch.sentinels.map(({ host, port }) => {
    const subscriber = new Redis({
      host,
      port,
      password: watch.sentinelPassword,
      connectionName: 'linebacker:switch-watch',
      retryStrategy: watch.retryStrategy,
      maxRetriesPerRequest: null,
    });
    subscriber.on('error', () => {}); // a Sentinel that is down is retried; the others still tell
    subscriber.on('message', (_channel: string, message: string) => {
      const primary = newPrimary(message, watch.name);
      if (primary) moveConnections(watched, primary);
    });
    void subscriber.subscribe(SWITCH_CHANNEL).catch(() => undefined);
    return subscriber;
  });
}

/**
 * Watches `connection` (made through the Sentinels of `watch`) until it ends, and every copy made of
 * it with `duplicate()` (BullMQ makes a worker's blocking connection that way).
 */
export function watchPrimarySwitch(connection: Redis, watch: SwitchWatch): void {
  const key = `${watch.name}@${watch.sentinels.map(({ host, port }) => `${host}:${port}`).join(',')}`;
  let entry = watches.get(key);
  if (!entry) {
    const watched = new Set<Redis>();
    entry = { watched, subscribers: subscribe(watch, watched) };
    watches.set(key, entry);
  }
  const { watched, subscribers } = entry;
  watched.add(connection);
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = (override) => {
    const copy = duplicate(override);
    watchPrimarySwitch(copy, watch);
    return copy;
  };
  connection.once('end', () => {
    watched.delete(connection);
    if (watched.size === 0 && watches.get(key) === entry) {
      for (const subscriber of subscribers) subscriber.disconnect();
      watches.delete(key);
    }
  });
}
