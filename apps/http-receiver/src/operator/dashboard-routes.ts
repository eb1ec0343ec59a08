import { fileURLToPath } from 'node:url';
import express, { Router, type Response } from 'express';
import { requireScope } from '../auth/auth-middleware.js';
import { vendorRoutes } from './vendor-files.js';

/**
 * The request dashboard's files: plain HTML, CSS and browser JavaScript, no build step. They are
 * read from src/operator/dashboard, resolved from this module's own location, which is the same
 * folder whether this runs compiled (dist/operator/dashboard-routes.js → ../../src/operator/dashboard)
 * or from source under vitest (src/operator/dashboard-routes.ts → the same); so `npm start` on a
 * fresh clone serves them
 * without a copy step.
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../src/operator/dashboard/', import.meta.url));
export const DASHBOARD_STYLESHEET = `${DASHBOARD_DIR}style.css`;

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function setHeaders(res: Response): void {
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
}

/**
 * GET /dashboard (scope ops:read): the page, which reads /healthz, /api/v1/backup-requests,
 * /api/v1/ops/statistics and follows /api/v1/events; its files, and the browser libraries it uses.
 */
export function dashboardRoutes(): Router {
  const router = Router();
  router.use(requireScope('ops:read'));
  // /dashboard and /dashboard/ (serve-static alone would only serve the latter)
  router.get('/', (_req, res) => {
    setHeaders(res);
    res.sendFile(`${DASHBOARD_DIR}index.html`);
  });
  router.use(vendorRoutes(setHeaders));
  router.use(express.static(DASHBOARD_DIR, { index: false, redirect: false, setHeaders }));
  return router;
}
