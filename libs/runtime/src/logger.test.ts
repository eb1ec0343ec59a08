import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it('writes JSON with the app name, and never the credentials of a request', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('http-receiver', 'info', { destination });
    logger.info({ req: { headers: { authorization: 'Bearer lbk_secret', cookie: 'lb_session=lbk_secret', host: 'h' } } }, 'request');

    const line = JSON.parse(lines.join('')) as { app: string; msg: string; req: { headers: Record<string, string> } };
    expect(line).toMatchObject({ app: 'http-receiver', msg: 'request' });
    expect(line.req.headers.host).toBe('h');
    expect(lines.join('')).not.toContain('lbk_secret');
  });
});
