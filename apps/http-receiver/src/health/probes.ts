import { Router } from 'express';
import type { Queryable } from '@linebacker/db';
import type { RedisClient } from '@linebacker/queues';
import { withTimeout } from '@linebacker/runtime';
import type { Liveness, Readiness } from './health-schemas.js';

export interface ProbeDeps {
  db: Queryable;
  redis: RedisClient;
  isShuttingDown: () => boolean;
  timeoutMs: number;
}

const answers = (check: () => Promise<unknown>, timeoutMs: number): Promise<boolean> =>
  withTimeout(check().then(() => true, () => false), timeoutMs, false);

/** /livez and /readyz (SPEC §5.4): no auth, no body to parse. */
export function probeRoutes(deps: ProbeDeps): Router {
  const router = Router();
  router.get('/livez', (_req, res) => {
    const live = !deps.isShuttingDown();
    const body: Liveness = { status: live ? 'ok' : 'shutting down' };
    res.status(live ? 200 : 503).json(body);
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, redis] = await Promise.all([
      answers(() => deps.db.query('SELECT 1'), deps.timeoutMs),
      answers(() => deps.redis.ping(), deps.timeoutMs),
    ]);
    const ready = postgres && redis && !deps.isShuttingDown();
    const body: Readiness = {
      status: ready ? 'ready' : 'not ready',
      postgres: postgres ? 'up' : 'down',
      redis: redis ? 'up' : 'down',
      ...(deps.isShuttingDown() ? { shuttingDown: true as const } : {}),
    };
    res.status(ready ? 200 : 503).json(body);
  });
  return router;
}
