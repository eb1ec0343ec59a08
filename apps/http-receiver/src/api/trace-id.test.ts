import { describe, expect, it } from 'vitest';
import { traceIdOf } from './trace-id.js';

describe('traceIdOf', () => {
  it("takes the traceparent's trace id first, then a sane X-Request-Id", () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(traceIdOf({ traceparent, 'x-request-id': 'mine' })).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceIdOf({ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, 'x-request-id': 'mine' })).toBe('mine');
  });

  it('otherwise makes a new W3C trace id: 32 lowercase hex digits, different every time', () => {
    const ids = Array.from({ length: 1000 }, () => traceIdOf({}));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
