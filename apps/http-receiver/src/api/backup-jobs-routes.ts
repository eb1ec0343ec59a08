import { Router } from 'express';
import { getBackupJob, listBackupJobs, upsertBackupJob, type Queryable } from '@linebacker/db';
import { validateBackupJobDefinition, validateBackupJobId, validateWith } from '@linebacker/domain';
import { requireScope } from '../auth/auth-middleware.js';
import { jsonBody } from './json-body.js';
import { notFoundProblem, validationProblem } from './problem.js';
import { backupJobListQuerySchema, encodeCursor } from './api-schemas.js';

const jobLocation = (id: string): string => `/api/v1/backup-jobs/${encodeURIComponent(id)}`;

/** The backup job catalogue (SPEC §3, §5.3); every route needs `jobs:admin`. */
export function backupJobsRoutes(db: Queryable): Router {
  const router = Router();
  router.use(requireScope('jobs:admin'));

  router.put('/:id', jsonBody, async (req, res) => {
    const id = validateBackupJobId(req.params.id);
    const definition = validateBackupJobDefinition(req.body as unknown);
    const errors = [...(id.ok ? [] : id.errors), ...(definition.ok ? [] : definition.errors)];
    if (!id.ok || !definition.ok) throw validationProblem(errors, 'backup job');
    const { job, created } = await upsertBackupJob(db, { backupJobId: id.value, ...definition.value });
    res.status(created ? 201 : 200).location(jobLocation(job.backupJobId)).json(job);
  });

  router.get('/:id', async (req, res) => {
    const id = validateBackupJobId(req.params.id);
    const job = id.ok ? await getBackupJob(db, id.value) : undefined;
    if (!job) throw notFoundProblem(`no backup job ${req.params.id}`);
    res.json(job);
  });

  router.get('/', async (req, res) => {
    const query = validateWith(backupJobListQuerySchema, req.query);
    if (!query.ok) throw validationProblem(query.errors, 'query');
    const page = await listBackupJobs(db, { after: query.value.cursor, limit: query.value.limit });
    res.json({ items: page.items, nextCursor: encodeCursor(page.next) });
  });

  return router;
}
