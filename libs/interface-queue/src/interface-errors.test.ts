import { RestError } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';
import { isInterfaceUnavailable } from './interface-errors.js';

/** A Node-style system error: `Error` with a `code`. */
function systemError(code: string, message = `connect ${code} 127.0.0.1:10001`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** What the storage SDK throws for a service answer. */
function answer(statusCode: number, code = 'SomeErrorCode'): RestError {
  return new RestError(`the service said ${statusCode}`, { statusCode, code });
}

describe('isInterfaceUnavailable', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ESOCKETTIMEDOUT'])(
    'is true for a network error %s, from the SDK (RestError without status) or plain',
    (code) => {
      expect(isInterfaceUnavailable(new RestError(`connect ${code} 127.0.0.1:10001`, { code }))).toBe(true);
      expect(isInterfaceUnavailable(systemError(code))).toBe(true);
    },
  );

  it('is true for a socket hang up and for a request that could not be sent', () => {
    expect(isInterfaceUnavailable(new Error('socket hang up'))).toBe(true);
    expect(isInterfaceUnavailable(new RestError('socket hang up', { code: RestError.REQUEST_SEND_ERROR }))).toBe(true);
    expect(isInterfaceUnavailable(new RestError('write failed', { code: RestError.REQUEST_SEND_ERROR }))).toBe(true);
  });

  it.each([408, 429, 500, 502, 503, 504])('is true when the service answers %i', (statusCode) => {
    expect(isInterfaceUnavailable(answer(statusCode, 'ServerBusy'))).toBe(true);
  });

  it.each([
    [400, 'InvalidQueryParameterValue'],
    [400, 'PopReceiptMismatch'],
    [403, 'AuthenticationFailed'],
    [404, 'QueueNotFound'],
    [404, 'MessageNotFound'],
    [409, 'QueueBeingDeleted'],
    [413, 'RequestBodyTooLarge'],
  ])('is false when the service answers %i %s (permanent, or our bug)', (statusCode, code) => {
    expect(isInterfaceUnavailable(answer(statusCode, code))).toBe(false);
  });

  it('lets the status decide when the service answered, whatever the code', () => {
    expect(isInterfaceUnavailable(new RestError('odd', { statusCode: 400, code: 'ECONNRESET' }))).toBe(false);
  });

  it('is true for aborted and timed-out operations', () => {
    const abort = new Error('The operation was aborted.');
    abort.name = 'AbortError';
    expect(isInterfaceUnavailable(abort)).toBe(true);
    expect(isInterfaceUnavailable(new DOMException('signal timed out', 'TimeoutError'))).toBe(true);
    expect(isInterfaceUnavailable(Object.assign(new Error('send timed out'), { name: 'TimeoutError' }))).toBe(true);
  });

  it('looks through a cause and through the errors of an AggregateError', () => {
    expect(isInterfaceUnavailable(new Error('send failed', { cause: systemError('ECONNRESET') }))).toBe(true);
    expect(
      isInterfaceUnavailable(new AggregateError([systemError('ECONNREFUSED'), systemError('ECONNREFUSED')], '')),
    ).toBe(true);
    expect(isInterfaceUnavailable(new Error('send failed', { cause: answer(403) }))).toBe(false);
  });

  it('survives a cycle of causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(isInterfaceUnavailable(a)).toBe(false);
  });

  it('is true for a response cut off mid-body', () => {
    const err = new RestError('Error "Error: Unclosed root tag\nLine: 3" occurred while parsing the response body', {
      code: RestError.PARSE_ERROR,
    });
    expect(isInterfaceUnavailable(err)).toBe(true);
  });

  it('is false for everything else', () => {
    expect(isInterfaceUnavailable(new Error('boom'))).toBe(false);
    expect(isInterfaceUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isInterfaceUnavailable(new RangeError('max must be 1–32'))).toBe(false);
    expect(isInterfaceUnavailable(new RestError('RetryPolicy failed without known error.'))).toBe(false);
    expect(isInterfaceUnavailable(new RestError('not xml', { code: RestError.PARSE_ERROR }))).toBe(false);
    expect(isInterfaceUnavailable(systemError('EACCES'))).toBe(false);
    expect(isInterfaceUnavailable('ECONNREFUSED')).toBe(false);
    expect(isInterfaceUnavailable(undefined)).toBe(false);
    expect(isInterfaceUnavailable(null)).toBe(false);
  });
});
