const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a `YYYY-MM-DD` string naming a real day of the proleptic Gregorian calendar. */
export function isCalendarDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  );
}

/** The UTC calendar date `days` days after `now`, as `YYYY-MM-DD`. */
export function utcDatePlusDays(now: Date, days: number): string {
  const shifted = new Date(now.getTime() + days * 86_400_000);
  return shifted.toISOString().slice(0, 10);
}
