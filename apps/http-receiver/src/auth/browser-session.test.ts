import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { assertSameOrigin, sessionIdOf } from './browser-session.js';
import { signInPage } from './sign-in-page.js';

/** A request as Express sees it behind `trust proxy`: protocol, host (with port), secure. */
const request = (method: string, headers: Record<string, string>, protocol: 'http' | 'https' = 'http'): Request =>
  ({
    method,
    protocol,
    secure: protocol === 'https',
    host: headers.host,
    header: (name: string) => headers[name.toLowerCase()],
  }) as unknown as Request;

describe('sessionIdOf', () => {
  it('finds the lb_session cookie among others over HTTP, and decodes it', () => {
    expect(sessionIdOf(request('GET', { cookie: 'a=1; lb_session=lbs_abc%2Bdef; b=2' }))).toBe('lbs_abc+def');
  });

  it('reads only the __Host- cookie over HTTPS (a plain one could have been planted)', () => {
    const cookie = 'lb_session=planted; __Host-lb_session=lbs_real';
    expect(sessionIdOf(request('GET', { cookie }, 'https'))).toBe('lbs_real');
    expect(sessionIdOf(request('GET', { cookie: 'lb_session=planted' }, 'https'))).toBeUndefined();
  });

  it('is undefined without the cookie, with an empty one, or with a malformed encoding', () => {
    expect(sessionIdOf(request('GET', {}))).toBeUndefined();
    expect(sessionIdOf(request('GET', { cookie: 'xlb_session=1; lb_sessionx=2' }))).toBeUndefined();
    expect(sessionIdOf(request('GET', { cookie: 'lb_session=' }))).toBeUndefined();
    expect(sessionIdOf(request('GET', { cookie: 'lb_session=%E0%A4%A' }))).toBeUndefined();
  });
});

describe('assertSameOrigin', () => {
  it('lets reads through whatever their origin', () => {
    expect(() => assertSameOrigin(request('GET', { origin: 'https://evil.example', host: 'lb:3000' }))).not.toThrow();
  });

  it('lets writes through only with an Origin equal to the full origin (scheme, host, port)', () => {
    expect(() => assertSameOrigin(request('POST', { origin: 'http://lb:3000', host: 'lb:3000' }))).not.toThrow();
    expect(() => assertSameOrigin(request('POST', { origin: 'https://lb', host: 'lb' }, 'https'))).not.toThrow();
    expect(() => assertSameOrigin(request('PUT', { host: 'lb:3000' }))).toThrow(/Origin/);
    expect(() => assertSameOrigin(request('PUT', { host: 'lb:3000' }), { required: false })).not.toThrow();
  });

  it('refuses writes from another host, port or scheme, or from an opaque origin', () => {
    expect(() => assertSameOrigin(request('POST', { origin: 'https://evil.example', host: 'lb:3000' }))).toThrow(/this site/);
    expect(() => assertSameOrigin(request('DELETE', { origin: 'http://lb:3001', host: 'lb:3000' }))).toThrow();
    expect(() => assertSameOrigin(request('POST', { origin: 'http://lb', host: 'lb' }, 'https'))).toThrow();
    expect(() => assertSameOrigin(request('POST', { origin: 'null', host: 'lb:3000' }))).toThrow();
    expect(() => assertSameOrigin(request('POST', { origin: 'null', host: 'lb:3000' }), { required: false })).toThrow();
  });
});

describe('signInPage', () => {
  it('escapes what it puts into the page', () => {
    const page = signInPage({ next: '/dashboard?"><script>', error: '<b>no</b>' });
    expect(page).toContain('value="/dashboard?&#34;&#62;&#60;script&#62;"');
    expect(page).toContain('&#60;b&#62;no&#60;/b&#62;');
    expect(page).not.toContain('<script>');
  });
});
