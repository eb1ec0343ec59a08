import { Router } from 'express';
import { requireScope } from '../auth/auth-middleware.js';
import type { PipelineStatistics } from './pipeline-statistics.js';

export const STATISTICS_PATH = '/api/v1/ops/statistics';

/**
 * GET /api/v1/ops/statistics (scope ops:read; a browser session may read it): the operator
 * dashboard's charts, the last hour per minute (pipeline-statistics.ts).
 */
export function statisticsRoutes(statistics: PipelineStatistics): Router {
  const router = Router();
  router.get(STATISTICS_PATH, requireScope('ops:read'), async (_req, res) => {
    res.set('Cache-Control', 'no-store').json(await statistics.current());
  });
  return router;
}
