import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('Redis settings (SPEC §9)', () => {
  it('one server by default: REDIS_URL without its credentials, which are kept apart', () => {
    const { redis } = loadConfig({ REDIS_URL: 'rediss://linebacker:p%40ss@redis.example:6380/2' });
    expect(redis).toEqual({
      topology: { kind: 'standalone', url: 'rediss://redis.example:6380/2' },
      username: 'linebacker',
      password: 'p@ss',
      db: 2,
      tls: true,
      queuePrefix: 'linebacker',
      location: 'Redis at rediss://linebacker:***@redis.example:6380/2',
    });
  });

  it('REDIS_USERNAME / REDIS_PASSWORD win over the credentials of REDIS_URL; a password alone uses the default user', () => {
    expect(loadConfig({ REDIS_URL: 'redis://old:old@127.0.0.1:6379', REDIS_USERNAME: 'lb', REDIS_PASSWORD: 'new' }).redis).toMatchObject({
      topology: { url: 'redis://127.0.0.1:6379' },
      username: 'lb',
      password: 'new',
    });
    const passwordOnly = loadConfig({ REDIS_URL: 'redis://:s3cret@127.0.0.1:6379' }).redis;
    expect(passwordOnly).toMatchObject({ password: 's3cret', location: 'Redis at redis://:***@127.0.0.1:6379' });
    expect(passwordOnly.username).toBeUndefined();
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379?password=q' }).redis).toMatchObject({
      topology: { url: 'redis://127.0.0.1:6379' },
      password: 'q',
    });
  });

  it('Sentinel: the Sentinels, the name of the primary (default mymaster), and the credentials for the servers', () => {
    const { redis } = loadConfig({
      LINEBACKER_REDIS_SENTINELS: '10.0.0.1:26379,sentinel-b:26380,[::1]:26381',
      REDIS_PASSWORD: 'pw',
      LINEBACKER_REDIS_SENTINEL_PASSWORD: 'spw',
      REDIS_URL: 'redis://ignored-host:1/3',
    });
    expect(redis).toEqual({
      topology: {
        kind: 'sentinel',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: 'sentinel-b', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'mymaster',
        sentinelPassword: 'spw',
      },
      password: 'pw',
      db: 3,
      tls: false,
      queuePrefix: 'linebacker',
      location: 'Redis Sentinel 10.0.0.1:26379,sentinel-b:26380,[::1]:26381 (primary "mymaster")',
    });
    expect(loadConfig({ LINEBACKER_REDIS_SENTINELS: 's:26379', LINEBACKER_REDIS_SENTINEL_NAME: 'lb-redis' }).redis.topology).toMatchObject({ name: 'lb-redis' });
  });

  it('Cluster: the nodes, and the queue prefix as a hash tag so that every key of linebacker is in one slot', () => {
    const { redis } = loadConfig({ LINEBACKER_REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001', LINEBACKER_QUEUE_PREFIX: 'lb-prod', REDIS_URL: 'redis://u:pw@x:1' });
    expect(redis).toEqual({
      topology: { kind: 'cluster', nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }] },
      username: 'u',
      password: 'pw',
      db: 0,
      tls: false,
      queuePrefix: '{lb-prod}',
      location: 'Redis Cluster 127.0.0.1:7000,127.0.0.1:7001',
    });
  });

  it('refuses Sentinel and Cluster together, a cluster database other than 0, a username without a password and bad lists', () => {
    expect(problems({ LINEBACKER_REDIS_SENTINELS: 'a:26379', LINEBACKER_REDIS_CLUSTER_NODES: 'b:7000' })).toEqual([
      'LINEBACKER_REDIS_CLUSTER_NODES: set LINEBACKER_REDIS_SENTINELS (Redis Sentinel) or LINEBACKER_REDIS_CLUSTER_NODES (Redis Cluster), not both',
    ]);
    expect(problems({ LINEBACKER_REDIS_CLUSTER_NODES: 'b:7000', REDIS_URL: 'redis://127.0.0.1:6379/1' })).toEqual([
      'REDIS_URL: a Redis Cluster has only database 0, not 1',
    ]);
    expect(problems({ REDIS_USERNAME: 'lb' })).toEqual([expect.stringMatching(/^REDIS_USERNAME: a Redis username needs a password/)]);
    expect(problems({ REDIS_URL: 'redis://lb@127.0.0.1:6379' })).toEqual([expect.stringMatching(/^REDIS_URL: a Redis username needs a password/)]);
    expect(problems({ REDIS_URL: 'redis://127.0.0.1:6379/queues' })).toEqual(['REDIS_URL: "/queues" is not a database number']);
    expect(problems({ LINEBACKER_REDIS_CLUSTER_NODES: 'a:7000,b:70000,c:0' })).toEqual(['LINEBACKER_REDIS_CLUSTER_NODES: ports must be 1-65535 (70000, 0)']);
    for (const list of ['a', 'a:', ':1', 'a:1,', 'a:1;b:2', 'a b:1']) {
      expect(problems({ LINEBACKER_REDIS_SENTINELS: list }), list).toEqual([
        'LINEBACKER_REDIS_SENTINELS: must be host:port pairs separated by commas',
      ]);
    }
  });
});
