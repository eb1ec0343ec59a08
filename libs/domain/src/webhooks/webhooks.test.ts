import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, webhookHeaders, webhookSignature } from './webhook-signature.js';
import { openWebhookSecret, sealWebhookSecret, webhookSecretKey } from './webhook-secret.js';
import { nonPublicAddress, parseWebhookUrl, webhookDestinationProblem } from './webhook-url.js';
import { validateWebhookEndpointInput } from './webhook-endpoint-input.js';

describe('webhook signatures (Standard Webhooks)', () => {
  it("matches the specification's example", () => {
    // from the Standard Webhooks specification's README
    const signature = webhookSignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('makes secrets of 32 random bytes and the headers of an attempt', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
    const headers = webhookHeaders(secret, '0000000000000042', '{}', 1_700_000_000_999);
    expect(headers).toEqual({
      'content-type': 'application/json',
      'webhook-id': '0000000000000042',
      'webhook-timestamp': '1700000000',
      'webhook-signature': webhookSignature(secret, '0000000000000042', 1_700_000_000, '{}'),
    });
  });
});

describe('webhook secrets at rest', () => {
  const key = webhookSecretKey(Buffer.alloc(32, 7).toString('base64'));
  const secret = generateWebhookSecret();

  it('are stored as they are without a key, sealed with one, and open only for their endpoint and key', () => {
    expect(sealWebhookSecret(secret, 'endpoint-1', undefined)).toBe(secret);
    const sealed = sealWebhookSecret(secret, 'endpoint-1', key);
    expect(sealed).toMatch(/^sealed:v1:/);
    expect(sealed).not.toContain(secret.slice(6));
    expect(sealWebhookSecret(secret, 'endpoint-1', key)).not.toBe(sealed);
    expect(openWebhookSecret(sealed, 'endpoint-1', key)).toBe(secret);
    expect(openWebhookSecret(secret, 'endpoint-1', key)).toBe(secret);
    expect(() => openWebhookSecret(sealed, 'endpoint-2', key)).toThrow(/does not open/);
    expect(() => openWebhookSecret(sealed, 'endpoint-1', undefined)).toThrow(/not set/);
    expect(() => openWebhookSecret(sealed, 'endpoint-1', webhookSecretKey(Buffer.alloc(32, 8).toString('base64')))).toThrow(/does not open/);
    expect(() => webhookSecretKey(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
  });
});

describe('webhook urls', () => {
  it('are http or https, absolute, without credentials', () => {
    expect(parseWebhookUrl('https://hooks.example.com/x?y=1').ok).toBe(true);
    expect(parseWebhookUrl('http://[2001:4860::8888]:8080/').ok).toBe(true);
    for (const bad of ['ftp://example.com/', 'example.com/hook', 'https://user:pw@example.com/', 'javascript:alert(1)', `https://e.com/${'x'.repeat(2048)}`]) {
      expect(parseWebhookUrl(bad).ok, bad).toBe(false);
    }
  });

  it('classify loopback, private, link-local, unique-local and reserved addresses, mapped IPv4 included', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:a00:1', '64:ff9b::10.0.0.1', '2002:7f00:1::', '224.0.0.1', '[::1]']) {
      expect(nonPublicAddress(address), address).toBeDefined();
    }
    for (const address of ['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8', '1.1.1.1']) {
      expect(nonPublicAddress(address), address).toBeUndefined();
    }
  });

  it('are checked on their literal address or on every address their name resolves to, unless private ones are allowed', async () => {
    const lookup = async (host: string) =>
      ({ 'public.test': [{ address: '93.184.215.14', family: 4 }], 'mixed.test': [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.7', family: 4 }] })[host] ??
      Promise.reject(new Error('ENOTFOUND'));
    const problem = (url: string, allowPrivate = false) => webhookDestinationProblem(new URL(url), { allowPrivate, lookup });
    expect(await problem('https://public.test/')).toBeUndefined();
    expect(await problem('https://mixed.test/')).toMatch(/resolves to 10\.0\.0\.7, a private address/);
    expect(await problem('https://nowhere.test/')).toMatch(/does not resolve/);
    expect(await problem('http://127.0.0.1:9/')).toMatch(/loopback/);
    expect(await problem('http://[::1]:9/')).toMatch(/loopback/);
    expect(await problem('http://127.0.0.1:9/', true)).toBeUndefined();
    expect(await problem('https://nowhere.test/', true)).toBeUndefined();
  });

  it('endpoint input: every bad field at once, statuses deduplicated in status order', () => {
    expect(validateWebhookEndpointInput({ url: 'ftp://x', statuses: ['Nope'] })).toMatchObject({
      ok: false,
      errors: [{ field: 'url' }, { field: 'statuses.0' }],
    });
    expect(validateWebhookEndpointInput({ url: 'https://e.com/', statuses: ['Failed', 'Received', 'Failed'] })).toEqual({
      ok: true,
      value: { url: 'https://e.com/', statuses: ['Received', 'Failed'] },
    });
    expect(validateWebhookEndpointInput({ url: 'https://e.com/' })).toEqual({ ok: true, value: { url: 'https://e.com/', statuses: undefined } });
    expect(validateWebhookEndpointInput({ url: 'https://e.com/', statuses: [] }).ok).toBe(false);
  });
});
