// PROVISIONAL: replaced by the outbox core of branch issue-events once it is merged.
export interface StatusEvent {
  eventId: string;
  type: 'backup-request.status-changed';
  backupRequestId: string;
  requesterId: string;
  backupJobId: string;
  status: string;
  previousStatus: string | null;
  reason: string | null;
  at: string;
  traceId: string;
}

export interface EventPage {
  events: StatusEvent[];
  /** Read on after this. */
  next: string;
}

export interface OutboxAccess {
  readAfter(after: string, limit: number): Promise<EventPage>;
  head(): Promise<string>;
  onWake(callback: () => void): Promise<() => Promise<void>>;
}

/** Event ids are decimal integers as strings: compared as numbers. */
export function compareEventIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
