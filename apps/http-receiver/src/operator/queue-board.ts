import type { Express, RequestHandler } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { QUEUES, type RequestQueue } from '@linebacker/queues';
import { principalOf, requireScope } from '../auth/auth-middleware.js';
import { QUEUE_UI_CONTENT_SECURITY_POLICY } from '../api/security-headers.js';
import { Problem, validationProblem } from '../api/problem.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * Queues nobody may change through the UI: a status-received job stands for a reply of the
 * interface (SPEC §5.2: nothing in the queue UI can change what the interface said).
 */
const NEVER_WRITABLE: ReadonlySet<string> = new Set([QUEUES.statusReceived]);
const READ_METHODS = new Set(['GET', 'HEAD']);

/** One bull-board over the queues; the never-writable ones are read-only on every board. */
function board(queues: readonly RequestQueue[], readOnlyMode: boolean): Express {
  const serverAdapter = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: readOnlyMode || NEVER_WRITABLE.has(queue.name) })),
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
/** The decoded path segments of a request to the board (`/api/queues/<name>/…`). */
function segmentsOf(path: string): string[] {
  return path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
}

/**
 * The queue UI (bull-board) for scope ops:read, mounted at /admin/queues. Read-only (no retry,
 * clean, pause, add, ...: bull-board answers 405) unless the caller also holds jobs:admin; every
 * write naming a never-writable queue (status-received) is refused here for everyone, before
 * bull-board sees it (and that queue is read-only on both boards as well).
 * bull-board's read-only mode is a property of each queue adapter, fixed when the board is made,
 * so there are two boards over the same queues and each request goes to the one its scopes allow.
 */
export function queueBoard(queues: readonly RequestQueue[]): RequestHandler[] {
  const readOnly = board(queues, true);
  const full = board(queues, false);
  return [
    requireScope('ops:read'),
    checkBoardQuery,
    (req, _res, next) => {
      if (!READ_METHODS.has(req.method) && segmentsOf(req.path).some((segment) => NEVER_WRITABLE.has(segment))) {
        throw new Problem('read-only-queue', 'the status-received queue cannot be changed through the queue UI');
      }
      next();
    },
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
