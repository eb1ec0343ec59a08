import { Router } from 'express';
import { requireScope } from '../auth/auth-middleware.js';
import type { Admission, HealthReport, HealthSnapshot } from './health-schemas.js';
import type { Health } from './start-health.js';
import { hostsOf, liveInstances } from './hosts.js';

/**
 * GET /healthz (scope ops:read): the cached snapshot, 503 while it is `down` or not yet taken, with
 * whether this receiver takes new requests on that snapshot (admission.ts). The snapshot is the
 * whole cluster's, shared by the leader; two parts are this receiver's own: the PM2 of its host,
 * and which instances are still live now (a dead host's vanish 3 heartbeats after its last, even
 * between two refreshes).
 */
export function healthzRoutes(health: Pick<Health, 'current' | 'localPm2'>, admissionOf: (snapshot: HealthSnapshot) => Admission): Router {
  const router = Router();
  router.get('/healthz', requireScope('ops:read'), async (_req, res) => {
    const snapshot = health.current();
    if (!snapshot) {
      res.status(503).json({ status: 'starting' });
      return;
    }
    const pm2 = await health.localPm2();
    const now = Date.now();
    const instances = liveInstances(snapshot.instances, snapshot.generatedAt, now);
    const ageMs = now - Date.parse(snapshot.generatedAt);
    const report: HealthReport = { ...snapshot, instances, hosts: hostsOf(instances), pm2, ageMs, admission: admissionOf(snapshot) };
    res.status(snapshot.status === 'down' ? 503 : 200).json(report);
  });
  return router;
}
