import { DependencyUnavailableError } from '@linebacker/domain';
import { describe, expect, it } from 'vitest';
import { toRedisError } from './redis-errors.js';

describe('toRedisError', () => {
  it.each([
    Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    new Error('Connection is closed.'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' }),
    new Error('LOADING Redis is loading the dataset in memory'),
    new Error("READONLY You can't write against a read only replica."),
    new Error("Cluster isn't ready and enableOfflineQueue options is false"),
    new Error('CLUSTERDOWN The cluster is down'),
    new Error('All sentinels are unreachable. Retrying from scratch after 200ms.'),
  ])('makes Redis unavailable of %s', (err) => {
    const translated = toRedisError(err);
    expect(translated).toBeInstanceOf(DependencyUnavailableError);
    expect(translated).toMatchObject({ dependency: 'redis', cause: err });
  });

  it.each([new Error('ERR wrong number of arguments'), 'ECONNREFUSED'])('leaves %s as it is', (err) => {
    expect(toRedisError(err)).toBe(err);
  });
});
