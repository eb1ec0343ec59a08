import { Router, type RequestHandler } from 'express';
import { getBackupRequestWithHistory, listBackupRequests, type Pool } from '@linebacker/db';
import { validateWith } from '@linebacker/domain';
import { acceptBackupRequest, type AcceptDeps } from './accept-backup-request.js';
import { principalOf, requireScope } from '../auth/auth-middleware.js';
import { jsonBody } from './json-body.js';
import { notFoundProblem, validationProblem } from './problem.js';
import { backupRequestListQuerySchema, encodeCursor } from './api-schemas.js';
import { requestLocation, requestRepresentation, requestWithHistoryRepresentation } from './representation.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The admin scope lets a caller read every client's requests (SPEC §5.1). */
const ADMIN_SCOPE = 'jobs:admin' as const;
/** Operators (the dashboard) read every request too: one by id, or the list with `all=true`. */
const OPS_SCOPE = 'ops:read' as const;

const readOwn = requireScope('requests:read');
const readAll = requireScope(OPS_SCOPE);

/** `admissionControl` runs before a POST's body is read (admission-middleware.ts); reads stay open. */
export function backupRequestsRoutes(deps: AcceptDeps & { pool: Pool; admissionControl: RequestHandler }): Router {
  const router = Router();

  router.post('/', requireScope('requests:write'), deps.admissionControl, jsonBody, async (req, res) => {
    const result = await acceptBackupRequest(deps, {
      requesterId: principalOf(res).clientId,
      body: req.body as unknown,
      idempotencyKey: req.header('idempotency-key'),
      traceId: res.locals.traceId as string,
    });
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(result.status).location(requestLocation(result.body.backupRequestId)).json(result.body);
  });

  // `all=true` lists every client's requests and needs ops:read instead of requests:read
  router.get('/', (req, res, next) => (req.query.all === 'true' ? readAll : readOwn)(req, res, next), async (req, res) => {
    const query = validateWith(backupRequestListQuerySchema, req.query);
    if (!query.ok) throw validationProblem(query.errors, 'query');
    const { cursor, all, ...filter } = query.value;
    const page = await listBackupRequests(deps.pool, {
      ...filter,
      requesterId: all ? undefined : principalOf(res).clientId,
      before: cursor,
    });
    res.json({ items: page.items.map(requestRepresentation), nextCursor: encodeCursor(page.next) });
  });

  router.get('/:id', requireScope('requests:read', ADMIN_SCOPE, OPS_SCOPE), async (req, res) => {
    const id = String(req.params.id);
    const principal = principalOf(res);
    const request = UUID.test(id) ? await getBackupRequestWithHistory(deps.pool, id) : undefined;
    const readsAny = principal.scopes.has(ADMIN_SCOPE) || principal.scopes.has(OPS_SCOPE);
    if (!request || (request.requesterId !== principal.clientId && !readsAny)) {
      throw notFoundProblem(`no backup request ${id}`);
    }
    res.json(requestWithHistoryRepresentation(request));
  });

  return router;
}
