import { describe, expect, it } from 'vitest';
import type { Instance } from './health-schemas.js';
import { appsWithoutInstance, hostsOf, liveInstances } from './hosts.js';

const at = (ms: number) => new Date(ms).toISOString();
const instance = (host: string, app: string, pid: number, lastSeenMs: number, expiresMs: number): Instance => ({
  host,
  app,
  pid,
  version: '0.1.0',
  startedAt: at(0),
  lastSeenAt: at(lastSeenMs),
  memoryBytes: 1,
  cpuPercent: 0,
  activeJobs: 0,
  heartbeatMs: 1000,
  expiresAt: at(expiresMs),
});

describe('the hosts of the instance registry', () => {
  const instances = [
    instance('host-a', 'http-receiver', 1, 5_000, 8_000),
    instance('host-a', 'check-allowed', 2, 5_500, 8_500),
    instance('host-a', 'check-allowed', 3, 4_000, 7_000),
    instance('host-b', 'check-allowed', 9, 6_000, 9_000),
  ];

  it('shows an instance only until its key expires (3 missed heartbeats), while the snapshot is younger than 1.5 heartbeats', () => {
    const takenAt = at(6_000);
    expect(liveInstances(instances, takenAt, 6_999)).toHaveLength(4);
    expect(liveInstances(instances, takenAt, 7_000).map((i) => i.pid)).toEqual([1, 2, 9]);
    expect(liveInstances(instances, at(7_600), 9_000)).toEqual([]);
    // a snapshot older than that cannot tell the dead from the live: it is shown as it was taken
    expect(liveInstances(instances, takenAt, 7_501)).toHaveLength(4);
  });

  it('summarises each host: instances per app and its latest heartbeat', () => {
    expect(hostsOf(instances)).toEqual([
      { host: 'host-a', apps: { 'http-receiver': 1, 'check-allowed': 2 }, instances: 3, lastSeenAt: at(5_500) },
      { host: 'host-b', apps: { 'check-allowed': 1 }, instances: 1, lastSeenAt: at(6_000) },
    ]);
    expect(hostsOf([])).toEqual([]);
  });

  it('names the apps of the pipeline that have no live instance on any host', () => {
    expect(appsWithoutInstance(instances, ['http-receiver', 'check-allowed', 'receive-status'])).toEqual(['receive-status']);
    expect(appsWithoutInstance(liveInstances(instances, at(7_900), 8_000), ['http-receiver', 'check-allowed'])).toEqual(['http-receiver']);
    expect(appsWithoutInstance([], [])).toEqual([]);
  });
});
