import { describe, expect, it } from 'vitest';
import { canTransition, isTerminal, REQUEST_STATUSES, statusesLeadingTo, type RequestStatus } from './request-status.js';

describe('request status transitions (SPEC §2.2)', () => {
  const allowed: [RequestStatus, RequestStatus][] = [
    ['Received', 'Allowed'],
    ['Received', 'NotAllowed'],
    ['Allowed', 'Sent'],
    ['Allowed', 'Succeeded'],
    ['Allowed', 'Failed'],
    ['Sent', 'Succeeded'],
    ['Sent', 'Failed'],
    ['Failed', 'Succeeded'],
  ];

  it('allows exactly the transitions the spec lists', () => {
    for (const from of REQUEST_STATUSES) {
      for (const to of REQUEST_STATUSES) {
        const expected = allowed.some(([f, t]) => f === from && t === to);
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(expected);
      }
    }
  });

  it('treats NotAllowed and Succeeded as terminal, Failed as not (a later success wins)', () => {
    expect(REQUEST_STATUSES.filter(isTerminal)).toEqual(['NotAllowed', 'Succeeded']);
  });

  it('gives the expected-status set of a conditional UPDATE', () => {
    expect(statusesLeadingTo('Succeeded').sort()).toEqual(['Allowed', 'Failed', 'Sent']);
    expect(statusesLeadingTo('Sent')).toEqual(['Allowed']);
    expect(statusesLeadingTo('Received')).toEqual([]);
  });
});
