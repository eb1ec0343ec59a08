import { rateLimit } from 'express-rate-limit';
import type { RequestHandler } from 'express';
import { principalOf } from './auth-middleware.js';
import { Problem } from '../api/problem.js';

/**
 * Per-client request budget over a one-minute window (429 beyond it). The count is kept in each
 * receiver process's memory, so with N instances a client may get up to N × the limit: a guard
 * against runaway clients that still works while Redis is down, not a billing meter.
 */
export function rateLimitPerClient(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (_req, res) => principalOf(res).clientId,
    handler: (_req, _res, next, options) => {
      next(
        new Problem('rate-limited', `at most ${perMinute} requests a minute per client`, {
          headers: { 'Retry-After': String(Math.ceil(options.windowMs / 1000)) },
        }),
      );
    },
  });
}
