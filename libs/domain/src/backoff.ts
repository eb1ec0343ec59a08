/**
 * Retry delay before attempt `attempt` (1 = the first retry): min(start × 3^(attempt-1), max),
 * with "equal jitter" (half fixed, half random) so that a crowd of failed jobs spreads out
 * without any retry coming much earlier than planned.
 */
export function backoffDelayMs(attempt: number, startMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponent = Math.max(attempt - 1, 0);
  const ceiling = Math.min(startMs * 3 ** exponent, maxMs);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
