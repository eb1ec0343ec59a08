import type { RequestHandler } from 'express';
import type { Admission } from '../health/health-schemas.js';
import { unavailableProblem } from './problem.js';

/**
 * 503 + Retry-After while the pipeline is overloaded (admission.ts), before anything of the request
 * is read or stored: a POST equal to an existing request, or repeating an Idempotency-Key, is
 * refused too. Only for the route that takes new work (POST /api/v1/backup-requests).
 */
export function refuseWhenOverloaded(options: {
  admission: () => Admission;
  retryAfterSeconds: number;
  onRefused: () => void;
}): RequestHandler {
  return (_req, _res, next) => {
    const admission = options.admission();
    if (admission.accepting) return next();
    options.onRefused();
    throw unavailableProblem(
      'pipeline-overloaded',
      `${admission.reason}: new requests are refused until it catches up; retry after ${options.retryAfterSeconds} s`,
      options.retryAfterSeconds,
    );
  };
}
