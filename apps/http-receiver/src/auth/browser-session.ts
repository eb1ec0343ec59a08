import express, { type ErrorRequestHandler, type Request, type Response, Router } from 'express';
import { createBrowserSession, deleteBrowserSession, type Queryable, type SessionLifetime } from '@linebacker/db';
import { generateSessionId, hashApiKey, looksLikeApiKey, type Scope } from '@linebacker/domain';
import type { Authenticator, Principal } from './authenticate.js';
import { unauthenticated } from './authenticate.js';
import type { FailedAuthLimit } from './failed-auth-limit.js';
import { signInAttemptLimit } from './failed-auth-limit.js';
import { Problem, validationProblem } from '../api/problem.js';
import { signInPage } from './sign-in-page.js';
import type { SessionView } from '../api/api-schemas.js';

/*
 * Browser sign-in for the operator pages (/dashboard, /admin/queues).
 *
 * A browser cannot add `Authorization: Bearer` to every request a page makes (navigations,
 * bull-board's own fetches, form posts), so POST /admin/session exchanges an API key that has
 * ops:read for a session: an opaque random id (256 bits) in a cookie, stored in Postgres only as
 * its SHA-256, with an idle expiry (renewed by each use) and an absolute one. The cookie never
 * holds the key. Sign-out deletes the row; disabling the client or rotating its key deletes its
 * rows; a lookup also checks the client is still enabled, so every receiver refuses the cookie at
 * once. Sessions are looked up on every use (not cached): the operator pages make few requests.
 *
 * A session may do less than its key:
 *   - its scopes are ops:read, plus jobs:admin when the key has it (never requests:write);
 *   - it authenticates only the operator pages and the reads they call (auth-middleware.ts), so a
 *     stolen cookie cannot write through the API; its only writes are the queue UI's actions (with
 *     jobs:admin) and sign-out, and those need an Origin header equal to this site's origin;
 *   - HttpOnly, SameSite=Strict, Path=/; over HTTPS (as seen through LINEBACKER_TRUST_PROXY) the
 *     cookie is `__Host-lb_session` with Secure, so no subdomain or plain-HTTP page can plant it.
 */

export const SESSION_COOKIE = 'lb_session';
const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
const BODY_LIMIT = '4kb';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** What a session may hold of its key's scopes. */
const SESSION_SCOPES: readonly Scope[] = ['ops:read', 'jobs:admin'];

/** Where a browser may be sent after signing in: only the operator pages (no open redirect). */
const OPERATOR_PAGE = /^\/(?:dashboard|admin\/queues)(?:[/?#][^\s\\]*)?$/;
const DEFAULT_PAGE = '/dashboard';

const safeNext = (next: unknown): string => (typeof next === 'string' && OPERATOR_PAGE.test(next) ? next : DEFAULT_PAGE);

/** A navigation or form post from a browser (Accept: text/html…), as opposed to fetch() or curl. */
const wantsHtml = (req: Request): boolean => req.accepts(['json', 'html']) === 'html';

/** The cookie's name for this request: `__Host-` needs Secure, which needs HTTPS. */
const cookieNameOf = (req: Request): string => (req.secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE);

/** The session id in the request's session cookie, if it carries one. */
export function sessionIdOf(req: Request): string | undefined {
  const header = req.header('cookie');
  if (!header) return undefined;
  const name = cookieNameOf(req);
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(eq + 1).trim()) || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * 403 unless a state-changing request carries an Origin equal to this site's full origin (scheme,
 * host and port, as seen through LINEBACKER_TRUST_PROXY). `required: false` lets a request without
 * any Origin through (a script signing in, which has no cookie to abuse).
 */
export function assertSameOrigin(req: Request, { required = true } = {}): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.header('origin');
  if (origin === undefined && !required) return;
  if (origin !== `${req.protocol}://${req.host}`) {
    throw new Problem('cross-origin', 'a request authenticated by the session cookie must come from a page of this site (Origin)');
  }
}

const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'strict' as const, path: '/', secure: req.secure });

export interface BrowserSessionDeps {
  db: Queryable;
  authenticator: Authenticator;
  failedAuth: FailedAuthLimit;
  lifetime: SessionLifetime;
  stylesheet: string;
}

/**
 * Public routes (mounted before requireToken): GET /admin/session (the sign-in page),
 * POST /admin/session (sign in: form-urlencoded or JSON `{ apiKey }`), POST /admin/session/logout.
 */
export function browserSessionRoutes({ db, authenticator, failedAuth, lifetime, stylesheet }: BrowserSessionDeps): Router {
  const router = Router();
  const parseBody = [express.urlencoded({ extended: false, limit: BODY_LIMIT }), express.json({ limit: BODY_LIMIT })];

  router.get('/admin/session', (req, res) => {
    sendSignInPage(res, 200, safeNext(req.query.next));
  });
  // the sign-in page is public, so is its stylesheet (the dashboard's, which holds nothing secret)
  router.get('/admin/session/style.css', (_req, res) => {
    res.sendFile(stylesheet);
  });

  /** The key's principal, counting a wrong key as a failed authentication of this address. */
  const verifyKey = (req: Request, apiKey: string): Promise<Principal> =>
    failedAuth.guard(req, authenticator.isKnownGood(apiKey), async () => {
      if (!looksLikeApiKey(apiKey)) throw unauthenticated('the API key is not valid');
      return authenticator.bearer(apiKey);
    });

  router.post('/admin/session', signInAttemptLimit(failedAuth.perMinute), ...parseBody, async (req, res) => {
    assertSameOrigin(req, { required: false });
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
      principal = await verifyKey(req, apiKey);
      if (!principal.scopes.has('ops:read')) throw new Problem('missing-scope', 'only a key with the scope ops:read can sign in');
    } catch (err) {
      if (html && err instanceof Problem && err.status === 401) return sendSignInPage(res, 401, next, 'That API key is not valid.');
      if (html && err instanceof Problem && err.status === 403) return sendSignInPage(res, 403, next, 'That API key does not have the ops:read scope.');
      throw err;
    }
    const sessionId = generateSessionId();
    const scopes = SESSION_SCOPES.filter((scope) => principal.scopes.has(scope));
    await createBrowserSession(db, { sessionHash: hashApiKey(sessionId), clientId: principal.clientId, scopes }, lifetime);
    res.cookie(cookieNameOf(req), sessionId, { ...cookieOptions(req), maxAge: lifetime.maxMs });
    res.set('Cache-Control', 'no-store');
    if (html) return res.redirect(303, next);
    const session: SessionView = { clientId: principal.clientId, scopes };
    res.json(session);
  });

  router.post('/admin/session/logout', async (req, res) => {
    const sessionId = sessionIdOf(req);
    if (sessionId) {
      assertSameOrigin(req);
      await deleteBrowserSession(db, hashApiKey(sessionId));
    }
    res.clearCookie(cookieNameOf(req), cookieOptions(req));
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
