import type { RequestHandler, Response } from 'express';
import type { Scope } from '@linebacker/domain';
import { unauthenticated, type Authenticator, type Principal } from './authenticate.js';
import { assertSameOrigin, sessionIdOf } from './browser-session.js';
import type { FailedAuthLimit } from './failed-auth-limit.js';
import { Problem } from '../api/problem.js';

const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;

/** What a browser session authenticates: the operator pages and the reads they call. */
const SESSION_READS =
  /^\/(?:dashboard(?:\/|$)|admin\/queues(?:\/|$)|healthz$|metrics$|api\/v1\/backup-requests(?:\/|$)|api\/v1\/ops\/statistics$|api\/v1\/events$)/;
/** …and the one place it may write: the queue UI's actions (which need jobs:admin, queue-board.ts). */
const SESSION_WRITES = /^\/admin\/queues(?:\/|$)/;
const READ_METHODS = new Set(['GET', 'HEAD']);

/** Whether a browser session may authenticate this method on this path (also used by openapi.ts). */
export const sessionAuthenticates = (method: string, path: string): boolean =>
  READ_METHODS.has(method.toUpperCase()) ? SESSION_READS.test(path) : SESSION_WRITES.test(path);

/**
 * Every route behind this needs `Authorization: Bearer <token>`, or else, for the operator pages
 * and their reads only, a browser's session cookie (browser-session.ts); the header wins when both
 * are present. A presented credential that is not already known good is looked up only if its
 * source address has not failed too often (failed-auth-limit.ts); a wrong one counts as a failure.
 * The principal lands in res.locals.
 */
export function requireToken(authenticator: Authenticator, failedAuth: FailedAuthLimit): RequestHandler {
  return async (req, res, next) => {
    const header = req.header('authorization');
    if (!header) {
      const sessionId = sessionIdOf(req);
      if (!sessionId || !sessionAuthenticates(req.method, req.path)) {
        const why = sessionId ? ' (the session cookie authenticates only the operator pages and their reads)' : '';
        throw unauthenticated(`an Authorization: Bearer <token> header is required${why}`);
      }
      assertSameOrigin(req);
      res.locals.principal = await failedAuth.guard(req, false, () => authenticator.session(sessionId));
      return next();
    }
    const token = BEARER.exec(header)?.[1];
    if (!token) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    res.locals.principal = await failedAuth.guard(req, authenticator.isKnownGood(token), () => authenticator.bearer(token));
    next();
  };
}

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('route is not behind requireToken');
  return principal;
}

/** 403 unless the caller holds one of the scopes. */
export function requireScope(...anyOf: [Scope, ...Scope[]]): RequestHandler {
  return (_req, res, next) => {
    const { scopes } = principalOf(res);
    if (!anyOf.some((scope) => scopes.has(scope))) {
      throw new Problem('missing-scope', `this operation needs the scope ${anyOf.join(' or ')}`);
    }
    next();
  };
}
