import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '@linebacker/domain';
import { createLogger } from '@linebacker/runtime';
import { errorHandler } from './error-handler.js';

/** The parts of an Express response the error handler uses, recording what it was given. */
function fakeResponse() {
  const sent: { status?: number; type?: string; body?: string; headers: Record<string, string> } = { headers: {} };
  const res = {
    req: { originalUrl: '/api/v1/backup-jobs/x' },
    locals: {},
    setHeader: (name: string, value: string) => void (sent.headers[name] = value),
    status: (status: number) => ((sent.status = status), res),
    type: (type: string) => ((sent.type = type), res),
    send: (body: string) => ((sent.body = body), res),
  };
  return { res: res as unknown as Response, sent };
}

describe('errorHandler', () => {
  const handle = errorHandler(createLogger('http-receiver', 'silent'), 5);

  it('answers 400 problem+json, not 500, when Postgres refused a value as data (libs/db PermanentError)', () => {
    const { res, sent } = fakeResponse();
    const refused = new PermanentError('Postgres refused the data (SQLSTATE 22021): invalid byte sequence for encoding "UTF8": 0x00');
    handle(refused, { method: 'PUT', originalUrl: '/api/v1/backup-jobs/x' } as Request, res, () => {});
    expect(sent.status).toBe(400);
    expect(sent.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(sent.body!)).toMatchObject({ status: 400, type: 'urn:linebacker:problem:validation-error' });
    expect(sent.body).not.toContain('SQLSTATE');
  });

  it('answers 500 to an error it does not know', () => {
    const { res, sent } = fakeResponse();
    handle(new Error('boom'), { method: 'GET', originalUrl: '/' } as Request, res, () => {});
    expect(sent.status).toBe(500);
  });
});
