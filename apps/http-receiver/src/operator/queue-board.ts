import type { Express, RequestHandler } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { QUEUES, type RequestQueue } from '@linebacker/queues';
import { principalOf, requireScope } from '../auth/auth-middleware.js';
import { Problem } from '../api/problem.js';

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
    (req, _res, next) => {
      if (!READ_METHODS.has(req.method) && segmentsOf(req.path).some((segment) => NEVER_WRITABLE.has(segment))) {
        throw new Problem('read-only-queue', 'the status-received queue cannot be changed through the queue UI');
      }
      next();
    },
    (req, res, next) => {
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
