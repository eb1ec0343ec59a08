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

  it('never logs the password of a refused Redis AUTH (ioredis puts the command on its error)', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('check-allowed', 'debug', { destination });
    const refused = Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), {
      command: { name: 'auth', args: ['linebacker', 'pw-that-must-not-show'] },
    });
    logger.warn({ err: refused }, 'worker error');
    logger.warn({ err: new AggregateError([refused], 'all failed') }, 'worker error');
    logger.warn({ err: Object.assign(new Error('ERR'), { command: { name: 'evalsha', args: ['sha', '1', 'key'] } }) }, 'other');

    const text = lines.join('');
    expect(text).not.toContain('pw-that-must-not-show');
    expect(text).not.toContain('"linebacker"');
    const [first, , other] = lines.map((line) => JSON.parse(line) as { err: { message: string; command: { name: string; args: string[] } } });
    expect(first!.err).toMatchObject({ message: expect.stringContaining('WRONGPASS'), command: { name: 'auth', args: ['***'] } });
    // other commands keep their arguments (they help to find a bug, and carry no credential)
    expect(other!.err.command.args).toEqual(['sha', '1', 'key']);
  });
});
