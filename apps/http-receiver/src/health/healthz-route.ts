import { Router } from 'express';
import { requireScope } from '../auth-middleware.js';
import type { HealthCache } from './health-cache.js';

/** GET /healthz (scope ops:read): the cached snapshot, 503 while it is `down` or not yet taken. */
export function healthzRoutes(cache: HealthCache): Router {
  const router = Router();
  router.get('/healthz', requireScope('ops:read'), (_req, res) => {
    const snapshot = cache.current();
    if (!snapshot) {
      res.status(503).json({ status: 'starting' });
      return;
    }
    const ageMs = Date.now() - Date.parse(snapshot.generatedAt);
    res.status(snapshot.status === 'down' ? 503 : 200).json({ ...snapshot, ageMs });
  });
  return router;
}
