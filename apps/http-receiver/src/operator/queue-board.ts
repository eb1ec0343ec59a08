import type { Express, RequestHandler } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { RequestQueue } from '@linebacker/queues';
import { principalOf, requireScope } from '../auth/auth-middleware.js';
import { QUEUE_UI_CONTENT_SECURITY_POLICY } from '../api/security-headers.js';
import { validationProblem } from '../api/problem.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

/** One bull-board over the queues, every queue in the same mode. */
function board(queues: readonly RequestQueue[], readOnlyMode: boolean): Express {
  const serverAdapter = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode })),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'linebacker',
        miscLinks: [{ text: 'Request dashboard', url: '/dashboard' }],
        hideDocsLink: true,
      },
    },
  });
  const app = serverAdapter.getRouter() as Express;
  app.disable('x-powered-by');
  return app;
}

/** The job states bull-board's API lists by (`?status=`), and its page parameters. */
const BOARD_STATUSES = new Set(['latest', 'active', 'waiting', 'waiting-children', 'prioritized', 'completed', 'failed', 'delayed', 'paused']);
const POSITIVE_INT = /^[1-9][0-9]{0,5}$/;

/**
 * bull-board passes `status` to BullMQ as it is, and an unknown one fails inside Redis with a 500
 * (found by the fuzz test with `?status=%00`): its API's query parameters are checked first.
 */
const checkBoardQuery: RequestHandler = (req, _res, next) => {
  const { status, page, jobsPerPage } = req.query as Record<string, unknown>;
  const errors = [
    ...(status === undefined || (typeof status === 'string' && BOARD_STATUSES.has(status)) ? [] : [{ field: 'status', message: `must be one of ${[...BOARD_STATUSES].join(', ')}` }]),
    ...[['page', page], ['jobsPerPage', jobsPerPage]].flatMap(([field, value]) =>
      value === undefined || (typeof value === 'string' && POSITIVE_INT.test(value)) ? [] : [{ field: field as string, message: 'must be a whole number from 1' }],
    ),
  ];
  if (errors.length > 0) throw validationProblem(errors, 'query');
  next();
};

/**
 * The queue UI (bull-board) for scope ops:read, mounted at /admin/queues. Read-only (no retry,
 * clean, pause, add, ...: bull-board answers 405) unless the caller also holds jobs:admin.
 * bull-board's read-only mode is a property of each queue adapter, fixed when the board is made,
 * so there are two boards over the same queues and each request goes to the one its scopes allow.
 */
export function queueBoard(queues: readonly RequestQueue[]): RequestHandler[] {
  const readOnly = board(queues, true);
  const full = board(queues, false);
  return [
    requireScope('ops:read'),
    checkBoardQuery,
    (req, res, next) => {
      res.setHeader('Content-Security-Policy', QUEUE_UI_CONTENT_SECURITY_POLICY);
      const app = principalOf(res).scopes.has('jobs:admin') ? full : readOnly;
      // what app.use(path, subApp) does: the sub-app swaps in its own req/res prototypes; put
      // ours back for whatever runs after it (404, error handler)
      const [request, response] = [Object.getPrototypeOf(req) as object, Object.getPrototypeOf(res) as object];
      app(req, res, (err?: unknown) => {
        Object.setPrototypeOf(req, request);
        Object.setPrototypeOf(res, response);
        next(err);
      });
    },
  ];
}
