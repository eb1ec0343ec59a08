import type { RequestHandler, Response } from 'express';
import type { Scope } from '@linebacker/domain';
import { unauthenticated, type Authenticate, type Principal } from './authenticate.js';
import { assertSameOrigin, sessionTokenOf } from './browser-session.js';
import { Problem } from '../api/problem.js';

const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;

/**
 * Every route behind this needs `Authorization: Bearer <token>`, or else a browser's session cookie
 * (browser-session.ts); the header wins when both are present. The principal lands in res.locals.
 */
export function requireToken(authenticate: Authenticate): RequestHandler {
  return async (req, res, next) => {
    const header = req.header('authorization');
    const session = header ? undefined : sessionTokenOf(req);
    if (session) {
      assertSameOrigin(req);
      res.locals.principal = await authenticate(session);
      return next();
    }
    if (!header) throw unauthenticated('an Authorization: Bearer <token> header is required');
    const token = BEARER.exec(header)?.[1];
    if (!token) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    res.locals.principal = await authenticate(token);
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
