import { describe, expect, it } from 'vitest';
import { addDaysToDate, isCalendarDate, utcDatePlusDays } from './calendar-date.js';

describe('calendar dates (UTC)', () => {
  it('knows real days', () => {
    expect(isCalendarDate('2000-02-29')).toBe(true);
    expect(isCalendarDate('1900-02-29')).toBe(false);
    expect(isCalendarDate('2026-04-31')).toBe(false);
  });
  it('adds days in UTC across month and year ends', () => {
    expect(addDaysToDate('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDaysToDate('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDaysToDate('2026-01-01', 36500)).toBe('2125-12-08');
    expect(utcDatePlusDays(new Date('2026-03-10T23:59:59Z'), 1)).toBe('2026-03-11');
  });
});
