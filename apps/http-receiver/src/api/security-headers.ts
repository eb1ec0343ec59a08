import helmet from 'helmet';
import type { RequestHandler } from 'express';

/*
 * The standard security headers (SPEC §5.2), set by helmet on every answer of the receiver before
 * any route runs, so JSON, problem+json, Prometheus text, 404s, 401s and errors carry them too:
 * `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, `X-Frame-Options: DENY`,
 * `Cross-Origin-Opener-Policy` / `-Resource-Policy: same-origin`, `Strict-Transport-Security`
 * (ignored by browsers over plain HTTP, kept for a TLS proxy in front), and a Content-Security-Policy.
 *
 * The default policy is the strictest one: nothing may load but the receiver's own stylesheets and
 * images (the sign-in page), no script, no framing. Pages that need more set their own policy over
 * it: the dashboard (dashboard-routes.ts: its own script and fetches) and the queue UI
 * (QUEUE_UI_CONTENT_SECURITY_POLICY below).
 */

const DEFAULT_DIRECTIVES = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

export const securityHeaders: RequestHandler = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: DEFAULT_DIRECTIVES },
  // not no-referrer: under it Chromium sends `Origin: null` with the sign-in form's POST, which the
  // same-origin check of cookie writes must refuse; same-origin sends nothing to other sites
  referrerPolicy: { policy: 'same-origin' },
  xFrameOptions: { action: 'deny' },
});

/**
 * The queue UI (bull-board 9): a React app from its own files (scripts, styles, locales, fetches
 * of its API: 'self'). What it needs beyond the default policy, found in Chromium
 * (test/e2e/dashboard.test.ts asserts no violation):
 *   - style-src 'unsafe-inline': its page has a <style> element and style attributes (the loading
 *     dots), and its components inject style elements; scripts stay 'self' only (no inline script,
 *     no eval: its configuration is a <script type="application/json">, which is data);
 *   - base-uri 'self': the page sets <base href="/admin/queues/">;
 *   - fonts.googleapis.com (stylesheet) and fonts.gstatic.com (font files): it loads IBM Plex from
 *     Google Fonts; allowing exactly those two hosts for styles and fonts keeps the page as designed
 *     (a browser that cannot reach them falls back to its sans-serif);
 *   - img-src data: for its icons.
 */
export const QUEUE_UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
  "font-src https://fonts.gstatic.com",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
].join('; ');
