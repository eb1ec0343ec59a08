import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact-url.js';

describe('redactUrl', () => {
  it('hides passwords and keeps where it points', () => {
    expect(redactUrl('redis://:s3cret@127.0.0.1:6379')).toBe('redis://:***@127.0.0.1:6379');
    expect(redactUrl('redis://default:s3cret@redis.example:6380/2')).toBe('redis://default:***@redis.example:6380/2');
    expect(redactUrl('postgres://linebacker:p%40ss@db:5432/linebacker')).toBe('postgres://linebacker:***@db:5432/linebacker');
    expect(redactUrl('postgres://db/linebacker?user=lb&password=x&sslmode=require')).toBe(
      'postgres://db/linebacker?user=lb&password=***&sslmode=require',
    );
  });

  it('hides a Redis username given alone (it is then the password), keeps a Postgres role', () => {
    expect(redactUrl('redis://s3cret@127.0.0.1:6379')).toBe('redis://***@127.0.0.1:6379');
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/linebacker')).toBe('postgres://postgres@127.0.0.1:5432/linebacker');
  });

  it('leaves a URL without credentials as it is, and replaces what is not a URL', () => {
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url :pw@')).toBe('***');
  });
});
