import { DependencyUnavailableError, PermanentError } from '@linebacker/domain';
import { describe, expect, it } from 'vitest';
import { toDatabaseError } from './database-errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('toDatabaseError', () => {
  it.each([
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    withCode('read ECONNRESET', 'ECONNRESET'),
    withCode('terminating connection due to administrator command', '57P01'),
    withCode('the database system is starting up', '57P03'),
    withCode('sorry, too many clients already', '53300'),
    withCode('connection failure', '08006'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'all failed'),
  ])('makes Postgres unavailable of %s', (err) => {
    const translated = toDatabaseError(err);
    expect(translated).toBeInstanceOf(DependencyUnavailableError);
    expect(translated).toMatchObject({ dependency: 'postgres', cause: err });
  });

  it.each([
    withCode('duplicate key value violates unique constraint', '23505'),
    withCode('syntax error at or near "SELEC"', '42601'),
    new TypeError('a bug'),
    undefined,
  ])('leaves %s as it is', (err) => expect(toDatabaseError(err)).toBe(err));

  it.each([
    withCode('invalid byte sequence for encoding "UTF8": 0x00', '22021'),
    withCode('unsupported Unicode escape sequence', '22P05'),
    withCode('invalid input syntax for type uuid', '22P02'),
    withCode('value too long for type character varying(10)', '22001'),
  ])('makes a data exception permanent: %s', (err) => {
    const translated = toDatabaseError(err);
    expect(translated).toBeInstanceOf(PermanentError);
    expect(translated).toMatchObject({ cause: err, message: expect.stringContaining(err.code) });
  });
});
