import { parseEventId } from '@linebacker/domain';

/**
 * Orders two event ids (padded or not, "0" = before every event) as the outbox orders them;
 * `undefined` is before everything.
 */
export function compareEventIds(a: string | undefined, b: string | undefined): number {
  const x = a === undefined ? -1 : (parseEventId(a) ?? -1);
  const y = b === undefined ? -1 : (parseEventId(b) ?? -1);
  return x - y;
}

/** The later of two event ids. */
export const laterEventId = (a: string | undefined, b: string): string => (compareEventIds(a, b) >= 0 ? a! : b);
