import type { Scope } from '@linebacker/domain';
import type { Queryable } from '../pool.js';

export interface BrowserSession {
  clientId: string;
  scopes: Scope[];
}

export interface SessionLifetime {
  /** Ends after this long without use. */
  idleMs: number;
  /** Ends this long after sign-in, however much it is used. */
  maxMs: number;
}

/** Stores a new session (by the hash of its id) for an enabled client. */
export async function createBrowserSession(
  db: Queryable,
  session: BrowserSession & { sessionHash: string },
  lifetime: SessionLifetime,
): Promise<void> {
  await db.query(
    `INSERT INTO browser_sessions (session_hash, client_id, scopes, idle_expires_at, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4::float8 / 1000), now() + make_interval(secs => $5::float8 / 1000))`,
    [session.sessionHash, session.clientId, session.scopes, Math.min(lifetime.idleMs, lifetime.maxMs), lifetime.maxMs],
  );
}

/**
 * The live session with this hash, its idle expiry moved on; undefined when unknown, expired, or
 * its client is disabled. Its scopes are those it was given that its client still has.
 */
export async function useBrowserSession(db: Queryable, sessionHash: string, idleMs: number): Promise<BrowserSession | undefined> {
  const { rows } = await db.query<BrowserSession>(
    `UPDATE browser_sessions s
        SET idle_expires_at = least(s.expires_at, now() + make_interval(secs => $2::float8 / 1000))
       FROM api_clients c
      WHERE s.session_hash = $1 AND c.client_id = s.client_id AND c.disabled_at IS NULL
        AND s.idle_expires_at > now() AND s.expires_at > now()
  RETURNING s.client_id AS "clientId", ARRAY(SELECT unnest(s.scopes) INTERSECT SELECT unnest(c.scopes)) AS scopes`,
    [sessionHash, idleMs],
  );
  return rows[0];
}

/** Sign-out: the session is gone for every receiver. */
export async function deleteBrowserSession(db: Queryable, sessionHash: string): Promise<void> {
  await db.query('DELETE FROM browser_sessions WHERE session_hash = $1', [sessionHash]);
}
