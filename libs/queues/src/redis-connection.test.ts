import { describe, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import { clientRecipe } from './redis-connection.js';

const redisOf = (env: Record<string, string>) => loadConfig(env).redis;

describe('clientRecipe: one connection factory for every way of reaching Redis (SPEC §9)', () => {
  it('one server: the URL without credentials, the credentials as options (so REDIS_PASSWORD can win)', () => {
    const recipe = clientRecipe(redisOf({ REDIS_URL: 'redis://u:from-url@10.0.0.5:6380/1', REDIS_PASSWORD: 'from-env' }), 'lb:test', 'producer');
    expect(recipe).toMatchObject({
      kind: 'redis',
      url: 'redis://10.0.0.5:6380/1',
      options: { connectionName: 'lb:test', username: 'u', password: 'from-env', enableOfflineQueue: false, maxRetriesPerRequest: 1 },
    });
    expect(JSON.stringify(recipe.kind === 'redis' && recipe.url)).not.toContain('from-');
  });

  it('producers fail fast, workers never give up a command, in every mode', () => {
    const modes: Record<string, string>[] = [{}, { LINEBACKER_REDIS_SENTINELS: 's:26379' }];
    for (const env of modes) {
      expect(clientRecipe(redisOf(env), 'p', 'producer').options).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      expect(clientRecipe(redisOf(env), 'w', 'worker').options).toMatchObject({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    }
    const cluster = redisOf({ LINEBACKER_REDIS_CLUSTER_NODES: 'n:7000' });
    expect(clientRecipe(cluster, 'p', 'producer').options).toMatchObject({ enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 1 } });
    expect(clientRecipe(cluster, 'w', 'worker').options).toMatchObject({ enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: null } });
  });

  it('Sentinel: asks the Sentinels for the primary, with the servers\' and the Sentinels\' own credentials', () => {
    const recipe = clientRecipe(
      redisOf({
        LINEBACKER_REDIS_SENTINELS: '127.0.0.1:26379,127.0.0.1:26380',
        LINEBACKER_REDIS_SENTINEL_NAME: 'lb',
        LINEBACKER_REDIS_SENTINEL_PASSWORD: 'spw',
        REDIS_URL: 'rediss://lb:pw@ignored:1/2',
      }),
      'lb:worker',
      'worker',
    );
    expect(recipe.kind).toBe('redis');
    expect(recipe.kind === 'redis' && recipe.url).toBeUndefined();
    expect(recipe.options).toMatchObject({
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.1', port: 26380 },
      ],
      name: 'lb',
      role: 'master',
      sentinelPassword: 'spw',
      username: 'lb',
      password: 'pw',
      db: 2,
      tls: {},
      connectionName: 'lb:worker',
    });
    // a write refused by a demoted primary reconnects (to the primary the Sentinels name now) and is sent again
    const reconnectOnError = (recipe.options as { reconnectOnError: (err: Error) => unknown }).reconnectOnError;
    expect(reconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(reconnectOnError(new Error('ERR unknown command'))).toBe(false);
  });

  it('Cluster: the nodes, and the credentials for every node', () => {
    const recipe = clientRecipe(redisOf({ LINEBACKER_REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001', REDIS_USERNAME: 'lb', REDIS_PASSWORD: 'pw' }), 'c', 'producer');
    expect(recipe).toMatchObject({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
      options: { redisOptions: { connectionName: 'c', username: 'lb', password: 'pw' } },
    });
  });

  it('sends no credentials when there are none', () => {
    const modes: Record<string, string>[] = [{}, { LINEBACKER_REDIS_SENTINELS: 's:26379' }, { LINEBACKER_REDIS_CLUSTER_NODES: 'n:7000' }];
    for (const env of modes) {
      const { options } = clientRecipe(redisOf(env), 'x', 'producer');
      const flat = { ...options, ...('redisOptions' in options ? options.redisOptions : {}) };
      expect(flat).not.toHaveProperty('password');
      expect(flat).not.toHaveProperty('username');
      expect(flat).not.toHaveProperty('sentinelPassword');
    }
  });
});
