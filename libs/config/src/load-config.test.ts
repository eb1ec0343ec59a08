import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/linebacker');
    expect(config.redis).toEqual({
      topology: { kind: 'standalone', url: 'redis://127.0.0.1:6379' },
      db: 0,
      tls: false,
      queuePrefix: 'linebacker',
      location: 'Redis at redis://127.0.0.1:6379',
    });
    expect(config.http.port).toBe(3000);
    expect(config.http.instances).toBe(1);
    expect(config.http.jwt).toBeUndefined();
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('gives the documented performance defaults (issue 6)', () => {
    const config = loadConfig({});
    expect(config.heap).toEqual({ maxOldSpaceMb: 96, maxSemiSpaceMb: 8 });
    expect(config.statusReceiver.batchWaitMs).toBe(50);
    expect(config.profileDir).toBeUndefined();
    expect(loadConfig({ LINEBACKER_PROFILE_DIR: '/tmp/profiles', LINEBACKER_MAX_OLD_SPACE_MB: '128' })).toMatchObject({
      profileDir: '/tmp/profiles',
      heap: { maxOldSpaceMb: 128 },
    });
  });

  it('gives the documented admission limits, 0 turning a rule off, and refuses negative ones (issue 10)', () => {
    expect(loadConfig({}).admission).toEqual({ maxBacklog: 10_000, maxWaitSeconds: 120, maxDrainSeconds: 20, minBacklog: 1_000 });
    expect(
      loadConfig({
        LINEBACKER_ADMISSION_MAX_BACKLOG: '0',
        LINEBACKER_ADMISSION_MAX_WAIT_S: '30',
        LINEBACKER_ADMISSION_MAX_DRAIN_S: '0',
        LINEBACKER_ADMISSION_MIN_BACKLOG: '50',
      }).admission,
    ).toEqual({ maxBacklog: 0, maxWaitSeconds: 30, maxDrainSeconds: 0, minBacklog: 50 });
    expect(() => loadConfig({ LINEBACKER_ADMISSION_MAX_DRAIN_S: '-1' })).toThrow(/LINEBACKER_ADMISSION_MAX_DRAIN_S/);
    expect(() => loadConfig({ LINEBACKER_ADMISSION_MAX_WAIT_S: '-1' })).toThrow(/LINEBACKER_ADMISSION_MAX_WAIT_S/);
    expect(() => loadConfig({ LINEBACKER_ADMISSION_MAX_BACKLOG: 'many' })).toThrow(/LINEBACKER_ADMISSION_MAX_BACKLOG/);
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({
        DATABASE_URL: 'mysql://x',
        LINEBACKER_HTTP_PORT: '70000',
        LINEBACKER_QUEUE_PREFIX: 'has:colon',
        LINEBACKER_JWT_ISSUER: 'https://idp.example',
      });
      expect.unreachable('loadConfig should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const fields = (err as ConfigError).problems.map((problem) => problem.split(':')[0]);
      expect(fields.sort()).toEqual(['DATABASE_URL', 'LINEBACKER_HTTP_PORT', 'LINEBACKER_JWT_ISSUER', 'LINEBACKER_QUEUE_PREFIX']);
    }
  });

  it('takes JWT settings when all three are given', () => {
    const config = loadConfig({
      LINEBACKER_JWT_ISSUER: 'https://idp.example',
      LINEBACKER_JWT_AUDIENCE: 'linebacker',
      LINEBACKER_JWT_JWKS_URL: 'https://idp.example/.well-known/jwks.json',
    });
    expect(config.http.jwt?.audience).toBe('linebacker');
  });

  it('keeps the HTTP keep-alive timeout 2 s below the shutdown deadline (issue 12)', () => {
    expect(loadConfig({}).http.keepAliveTimeoutMs).toBe(5000);
    expect(loadConfig({ LINEBACKER_SHUTDOWN_TIMEOUT_MS: '20000', LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS: '18000' }).http.keepAliveTimeoutMs).toBe(18_000);
    expect(() => loadConfig({ LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000' })).toThrow(/LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS.*LINEBACKER_SHUTDOWN_TIMEOUT_MS/);
    expect(() => loadConfig({ LINEBACKER_SHUTDOWN_TIMEOUT_MS: '6000' })).toThrow(/LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS/);
  });
});
