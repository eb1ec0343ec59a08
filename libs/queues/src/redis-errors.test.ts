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
  ])('makes Redis unavailable of %s', (err) => {
    const translated = toRedisError(err);
    expect(translated).toBeInstanceOf(DependencyUnavailableError);
    expect(translated).toMatchObject({ dependency: 'redis', cause: err });
  });

  it.each([new Error('ERR wrong number of arguments'), 'ECONNREFUSED'])('leaves %s as it is', (err) => {
    expect(toRedisError(err)).toBe(err);
  });
});
