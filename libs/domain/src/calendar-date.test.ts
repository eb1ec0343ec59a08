import { describe, expect, it } from 'vitest';
import { isCalendarDate, utcDatePlusDays } from './calendar-date.js';

describe('calendar dates (UTC)', () => {
  it('knows real days', () => {
    expect(isCalendarDate('2000-02-29')).toBe(true);
    expect(isCalendarDate('1900-02-29')).toBe(false);
    expect(isCalendarDate('2026-04-31')).toBe(false);
  });
  it('adds days in UTC across a day end', () => {
    expect(utcDatePlusDays(new Date('2026-03-10T23:59:59Z'), 1)).toBe('2026-03-11');
  });
});
