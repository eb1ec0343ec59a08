import { Router } from 'express';
import { requireScope } from '../auth/auth-middleware.js';
import type { Admission, HealthReport, HealthSnapshot } from './health-schemas.js';
import type { HealthCache } from './health-cache.js';

/**
 * GET /healthz (scope ops:read): the cached snapshot, 503 while it is `down` or not yet taken, with
 * whether this receiver takes new requests on that snapshot (admission.ts).
 */
export function healthzRoutes(cache: Pick<HealthCache, 'current'>, admissionOf: (snapshot: HealthSnapshot) => Admission): Router {
  const router = Router();
  router.get('/healthz', requireScope('ops:read'), (_req, res) => {
    const snapshot = cache.current();
    if (!snapshot) {
      res.status(503).json({ status: 'starting' });
      return;
    }
    const ageMs = Date.now() - Date.parse(snapshot.generatedAt);
    const report: HealthReport = { ...snapshot, ageMs, admission: admissionOf(snapshot) };
    res.status(snapshot.status === 'down' ? 503 : 200).json(report);
  });
  return router;
}
