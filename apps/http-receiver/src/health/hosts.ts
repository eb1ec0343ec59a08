import type { HostSummary, Instance } from './health-schemas.js';

/*
 * The cluster as the instance registry shows it (SPEC §9): which instances are live, on which
 * hosts, and which app of the pipeline has none anywhere.
 */

/**
 * The instances of a snapshot taken at `generatedAt` that are still live at `now`.
 *
 * A snapshot is up to a refresh period old when it is served: dropping what expired since keeps a
 * dead host's instances from outliving their 3 heartbeats. That is exact only while the snapshot
 * is younger than 1.5 heartbeats: an instance that beats on time had its latest beat at most one
 * heartbeat before the snapshot, so its key then had 2 heartbeats left and cannot look expired
 * before that. An older snapshot (a slow collection, or LINEBACKER_HEALTH_REFRESH_MS above 1.5 ×
 * LINEBACKER_HEARTBEAT_MS) cannot tell a dead instance from a live one: it is shown as collected
 * (`ageMs` says how old), and the next snapshot decides.
 */
export function liveInstances(instances: readonly Instance[], generatedAt: string, now: number): Instance[] {
  const ageMs = now - Date.parse(generatedAt);
  return instances.filter((instance) => ageMs > 1.5 * instance.heartbeatMs || Date.parse(instance.expiresAt) > now);
}

/** One summary per host, in host order: instances per app and the host's latest heartbeat. */
export function hostsOf(instances: readonly Instance[]): HostSummary[] {
  const hosts = new Map<string, HostSummary>();
  for (const instance of instances) {
    const host = hosts.get(instance.host) ?? { host: instance.host, apps: {}, instances: 0, lastSeenAt: instance.lastSeenAt };
    host.apps[instance.app] = (host.apps[instance.app] ?? 0) + 1;
    host.instances += 1;
    if (Date.parse(instance.lastSeenAt) > Date.parse(host.lastSeenAt)) host.lastSeenAt = instance.lastSeenAt;
    hosts.set(instance.host, host);
  }
  return [...hosts.values()].sort((a, b) => a.host.localeCompare(b.host));
}

/** The apps of `expectedApps` with no live instance on any host. */
export function appsWithoutInstance(instances: readonly Instance[], expectedApps: readonly string[]): string[] {
  const running = new Set(instances.map((instance) => instance.app));
  return expectedApps.filter((app) => !running.has(app));
}
