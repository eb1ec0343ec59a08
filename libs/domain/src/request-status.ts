/**
 * Backup request statuses and the transitions between them (SPEC §2.2).
 *
 * Besides the main path, replies may overtake our own bookkeeping: a reply can arrive for a
 * request still recorded as Allowed (the send happened, recording Sent did not), and a later
 * success reply turns Failed into Succeeded because a Backup then exists.
 */
export const REQUEST_STATUSES = [
  'Received',
  'Allowed',
  'NotAllowed',
  'Sent',
  'Succeeded',
  'Failed',
] as const;

export type RequestStatus = (typeof REQUEST_STATUSES)[number];

const TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  Received: ['Allowed', 'NotAllowed'],
  Allowed: ['Sent', 'Succeeded', 'Failed'],
  NotAllowed: [],
  Sent: ['Succeeded', 'Failed'],
  Succeeded: [],
  Failed: ['Succeeded'],
};

export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses a request may be in for a move to `to` to be valid: the `expected` set of a conditional UPDATE. */
export function statusesLeadingTo(to: RequestStatus): RequestStatus[] {
  return REQUEST_STATUSES.filter((from) => canTransition(from, to));
}

/** No transition leaves a terminal status. */
export function isTerminal(status: RequestStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/**
 * Statuses after which the same request may be submitted again as a new one (SPEC §2.3):
 * a caller retrying after a refusal or a failure gets a fresh request.
 */
export const RESUBMITTABLE_STATUSES: readonly RequestStatus[] = ['NotAllowed', 'Failed'];
