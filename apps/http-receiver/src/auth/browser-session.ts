import express, { type ErrorRequestHandler, type Request, type Response, Router } from 'express';
import type { Authenticate, Principal } from './authenticate.js';
import { Problem, validationProblem } from '../api/problem.js';
import { signInPage } from './sign-in-page.js';
import type { SessionView } from '../api/api-schemas.js';

/*
 * Browser sign-in for the operator pages (/dashboard, /admin/queues).
 *
 * A browser cannot add `Authorization: Bearer` to every request a page makes (navigations,
 * bull-board's own fetches, form posts), so POST /admin/session verifies an API key with the same
 * authenticator as the API and puts that key in a cookie; requireToken accepts the cookie when a
 * request has no Authorization header (the header wins when both are present).
 *
 * Decision: the cookie holds the key itself rather than a signed session id. That needs no server
 * secret shared by every receiver process and no session store, and revoking or disabling the key
 * ends every browser session at once (after the auth cache, LINEBACKER_AUTH_CACHE_MS). The cost is
 * that the cookie is exactly as powerful as the key, so it is guarded:
 *   - HttpOnly: page scripts (and so an XSS) cannot read it;
 *   - SameSite=Strict: the browser never sends it with a request started by another site (CSRF);
 *     on top of that, a cookie-authenticated POST/PUT/DELETE whose Origin names another host is 403;
 *   - Secure whenever the request came over HTTPS; Max-Age of 12 hours;
 *   - Path=/: the pages call the JSON API (/healthz, /api/v1/...) with it.
 */

export const SESSION_COOKIE = 'lb_session';
const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;
const BODY_LIMIT = '4kb';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Where a browser may be sent after signing in: only the operator pages (no open redirect). */
const OPERATOR_PAGE = /^\/(?:dashboard|admin\/queues)(?:[/?#][^\s\\]*)?$/;
const DEFAULT_PAGE = '/dashboard';

const safeNext = (next: unknown): string => (typeof next === 'string' && OPERATOR_PAGE.test(next) ? next : DEFAULT_PAGE);

/** A navigation or form post from a browser (Accept: text/html…), as opposed to fetch() or curl. */
const wantsHtml = (req: Request): boolean => req.accepts(['json', 'html']) === 'html';

/** The token in the session cookie, if the request carries one. */
export function sessionTokenOf(req: Request): string | undefined {
  const header = req.header('cookie');
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    try {
      return decodeURIComponent(pair.slice(eq + 1).trim()) || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** 403 when a state-changing request says it comes from a page on another host. */
export function assertSameOrigin(req: Request): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.header('origin');
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== req.header('host')) {
    throw new Problem('cross-origin', 'a request authenticated by the session cookie must come from this site');
  }
}

const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'strict' as const, path: '/', secure: req.secure });

/**
 * Public routes (mounted before requireToken): GET /admin/session (the sign-in page),
 * POST /admin/session (sign in: form-urlencoded or JSON `{ apiKey }`), POST /admin/session/logout.
 */
export function browserSessionRoutes(authenticate: Authenticate, stylesheet: string): Router {
  const router = Router();
  const parseBody = [express.urlencoded({ extended: false, limit: BODY_LIMIT }), express.json({ limit: BODY_LIMIT })];

  router.get('/admin/session', (req, res) => {
    sendSignInPage(res, 200, safeNext(req.query.next));
  });
  // the sign-in page is public, so is its stylesheet (the dashboard's, which holds nothing secret)
  router.get('/admin/session/style.css', (_req, res) => {
    res.sendFile(stylesheet);
  });

  router.post('/admin/session', ...parseBody, async (req, res) => {
    assertSameOrigin(req);
    if (!req.is(['application/x-www-form-urlencoded', 'application/json'])) {
      throw new Problem('unsupported-media-type', 'send { apiKey } as a form or as JSON');
    }
    const body = (req.body ?? {}) as { apiKey?: unknown; next?: unknown };
    const html = wantsHtml(req);
    const next = safeNext(body.next);
    const apiKey = typeof body.apiKey === 'string' ? body.apiKey.trim() : '';
    if (!apiKey) {
      if (html) return sendSignInPage(res, 400, next, 'Enter an API key.');
      throw validationProblem([{ field: 'apiKey', message: 'is required' }], 'body');
    }

    let principal: Principal;
    try {
      principal = await authenticate(apiKey);
    } catch (err) {
      if (html && err instanceof Problem && err.status === 401) return sendSignInPage(res, 401, next, 'That API key is not valid.');
      throw err;
    }
    res.cookie(SESSION_COOKIE, apiKey, { ...cookieOptions(req), maxAge: SESSION_MAX_AGE_MS });
    if (html) return res.redirect(303, next);
    const session: SessionView = { clientId: principal.clientId, scopes: [...principal.scopes] };
    res.json(session);
  });

  router.post('/admin/session/logout', (req, res) => {
    assertSameOrigin(req);
    res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    if (wantsHtml(req)) return res.redirect(303, '/admin/session');
    res.status(204).end();
  });

  return router;
}

function sendSignInPage(res: Response, status: number, next: string, error?: string): void {
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .set('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    .type('html')
    .send(signInPage({ next, error }));
}

/**
 * After requireToken: a browser asking for an operator page without a (valid) token is sent to the
 * sign-in page instead of getting a problem+json 401. API routes keep their 401.
 */
export const redirectBrowsersToSignIn: ErrorRequestHandler = (err, req, res, next) => {
  const isPage = req.method === 'GET' && /^\/(?:dashboard|admin\/queues)(?:\/|$)/.test(req.path) && wantsHtml(req);
  if (err instanceof Problem && err.status === 401 && isPage) {
    res.redirect(303, `/admin/session?next=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  next(err);
};
