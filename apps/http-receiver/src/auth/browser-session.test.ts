import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { assertSameOrigin, sessionTokenOf } from './browser-session.js';
import { signInPage } from './sign-in-page.js';

const request = (method: string, headers: Record<string, string>): Request =>
  ({ method, header: (name: string) => headers[name.toLowerCase()] }) as unknown as Request;

describe('sessionTokenOf', () => {
  it('finds the lb_session cookie among others and decodes it', () => {
    expect(sessionTokenOf(request('GET', { cookie: 'a=1; lb_session=lbk_abc%2Bdef; b=2' }))).toBe('lbk_abc+def');
  });

  it('is undefined without the cookie, with an empty one, or with a malformed encoding', () => {
    expect(sessionTokenOf(request('GET', {}))).toBeUndefined();
    expect(sessionTokenOf(request('GET', { cookie: 'xlb_session=1; lb_sessionx=2' }))).toBeUndefined();
    expect(sessionTokenOf(request('GET', { cookie: 'lb_session=' }))).toBeUndefined();
    expect(sessionTokenOf(request('GET', { cookie: 'lb_session=%E0%A4%A' }))).toBeUndefined();
  });
});

describe('assertSameOrigin', () => {
  it('lets reads through whatever their origin', () => {
    expect(() => assertSameOrigin(request('GET', { origin: 'https://evil.example', host: 'lb:3000' }))).not.toThrow();
  });

  it('lets writes through from this host or without an Origin header', () => {
    expect(() => assertSameOrigin(request('POST', { origin: 'http://lb:3000', host: 'lb:3000' }))).not.toThrow();
    expect(() => assertSameOrigin(request('PUT', { host: 'lb:3000' }))).not.toThrow();
  });

  it('refuses writes from another host, or from an opaque origin', () => {
    expect(() => assertSameOrigin(request('POST', { origin: 'https://evil.example', host: 'lb:3000' }))).toThrow(/from this site/);
    expect(() => assertSameOrigin(request('DELETE', { origin: 'http://lb:3001', host: 'lb:3000' }))).toThrow();
    expect(() => assertSameOrigin(request('POST', { origin: 'null', host: 'lb:3000' }))).toThrow();
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
