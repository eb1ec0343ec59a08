import { RestError } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, PermanentError } from '@linebacker/domain';
import { toInterfaceError } from './interface-errors.js';

const unavailable = (err: unknown): boolean => toInterfaceError(err) instanceof DependencyUnavailableError;

/** A Node-style system error: `Error` with a `code`. */
function systemError(code: string, message = `connect ${code} 127.0.0.1:10001`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** What the storage SDK throws for a service answer. */
function answer(statusCode: number, code = 'SomeErrorCode'): RestError {
  return new RestError(`the service said ${statusCode}`, { statusCode, code });
}

describe('toInterfaceError', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ESOCKETTIMEDOUT'])(
    'is true for a network error %s, from the SDK (RestError without status) or plain',
    (code) => {
      expect(unavailable(new RestError(`connect ${code} 127.0.0.1:10001`, { code }))).toBe(true);
      expect(unavailable(systemError(code))).toBe(true);
    },
  );

  it('is true for a socket hang up and for a request that could not be sent', () => {
    expect(unavailable(new Error('socket hang up'))).toBe(true);
    expect(unavailable(new RestError('socket hang up', { code: RestError.REQUEST_SEND_ERROR }))).toBe(true);
    expect(unavailable(new RestError('write failed', { code: RestError.REQUEST_SEND_ERROR }))).toBe(true);
  });

  it.each([408, 429, 500, 502, 503, 504])('is true when the service answers %i', (statusCode) => {
    expect(unavailable(answer(statusCode, 'ServerBusy'))).toBe(true);
  });

  it.each([
    [400, 'InvalidQueryParameterValue'],
    [400, 'PopReceiptMismatch'],
    [403, 'AuthenticationFailed'],
    [404, 'QueueNotFound'],
    [404, 'MessageNotFound'],
    [409, 'QueueBeingDeleted'],
    [413, 'RequestBodyTooLarge'],
  ])('is a PermanentError with the answer when the service answers %i %s (our bug or our configuration)', (statusCode, code) => {
    const translated = toInterfaceError(answer(statusCode, code));
    expect(translated).toBeInstanceOf(PermanentError);
    expect((translated as Error).message).toContain(`${statusCode} ${code}`);
  });

  it('lets the status decide when the service answered, whatever the code', () => {
    expect(unavailable(new RestError('odd', { statusCode: 400, code: 'ECONNRESET' }))).toBe(false);
  });

  it('is true for aborted and timed-out operations', () => {
    const abort = new Error('The operation was aborted.');
    abort.name = 'AbortError';
    expect(unavailable(abort)).toBe(true);
    expect(unavailable(new DOMException('signal timed out', 'TimeoutError'))).toBe(true);
    expect(unavailable(Object.assign(new Error('send timed out'), { name: 'TimeoutError' }))).toBe(true);
  });

  it('looks through a cause and through the errors of an AggregateError', () => {
    expect(unavailable(new Error('send failed', { cause: systemError('ECONNRESET') }))).toBe(true);
    expect(
      unavailable(new AggregateError([systemError('ECONNREFUSED'), systemError('ECONNREFUSED')], '')),
    ).toBe(true);
    expect(unavailable(new Error('send failed', { cause: answer(403) }))).toBe(false);
  });

  it('survives a cycle of causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(unavailable(a)).toBe(false);
  });

  it('is true for a response cut off mid-body', () => {
    const err = new RestError('Error "Error: Unclosed root tag\nLine: 3" occurred while parsing the response body', {
      code: RestError.PARSE_ERROR,
    });
    expect(unavailable(err)).toBe(true);
  });

  it('is false for everything else', () => {
    expect(unavailable(new Error('boom'))).toBe(false);
    expect(unavailable(new TypeError('x is undefined'))).toBe(false);
    expect(unavailable(new RangeError('max must be 1–32'))).toBe(false);
    expect(unavailable(new RestError('RetryPolicy failed without known error.'))).toBe(false);
    expect(unavailable(new RestError('not xml', { code: RestError.PARSE_ERROR }))).toBe(false);
    expect(unavailable(systemError('EACCES'))).toBe(false);
    expect(unavailable('ECONNREFUSED')).toBe(false);
    expect(unavailable(undefined)).toBe(false);
    expect(unavailable(null)).toBe(false);
  });
});
