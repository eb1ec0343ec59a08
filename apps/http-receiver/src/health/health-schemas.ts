import { requestStatisticsSchema } from '@linebacker/db';
import { liveInstanceSchema, queueStatisticsSchema } from '@linebacker/queues';
import { z } from 'zod';

/*
 * What the operations endpoints answer (SPEC §5.4), declared once: the TypeScript types of the
 * health code are inferred from these schemas, and /openapi.json is generated from them.
 */

const count = z.int().min(0);
const upDown = z.enum(['up', 'down']).meta({ id: 'UpDown' });

export const livenessSchema = z.object({ status: z.enum(['ok', 'shutting down']) }).meta({ id: 'Liveness' });
export type Liveness = z.infer<typeof livenessSchema>;

export const readinessSchema = z.object({
  status: z.enum(['ready', 'not ready']),
  postgres: upDown,
  redis: upDown,
  shuttingDown: z.literal(true).optional().meta({ description: 'present while the process shuts down' }),
}).meta({ id: 'Readiness' });
export type Readiness = z.infer<typeof readinessSchema>;

export const dependencyHealthSchema = z.object({
  status: upDown,
  latencyMs: z.number().nullable().meta({ description: 'null when down' }),
  error: z.string().optional(),
}).meta({ id: 'DependencyHealth' });
export type DependencyHealth = z.infer<typeof dependencyHealthSchema>;

export const pm2AppSchema = z.object({
  name: z.string(),
  instances: count,
  online: count,
  restarts: count.meta({ description: 'sum over instances' }),
  uptimeSeconds: count.meta({ description: 'of the longest-running online instance' }),
  cpuPercent: z.number().min(0).meta({ description: 'sum over instances' }),
  memoryBytes: count.meta({ description: 'sum over instances' }),
}).meta({ id: 'Pm2App' });
export type Pm2App = z.infer<typeof pm2AppSchema>;

const pm2SectionSchema = z
  .union([
    z.object({ available: z.literal(true), apps: z.array(pm2AppSchema) }),
    z.object({ available: z.literal(false), reason: z.string(), apps: z.array(pm2AppSchema).max(0) }),
  ])
  .meta({ description: 'the local PM2 of the host whose receiver answered (SPEC §9); every host is in `instances` and `hosts`' });
export type Pm2Section = z.infer<typeof pm2SectionSchema>;

export type Instance = z.infer<typeof liveInstanceSchema>;

export const hostSummarySchema = z
  .object({
    host: z.string(),
    apps: z.record(z.string(), count).meta({ description: 'live instances per app on this host' }),
    instances: count,
    lastSeenAt: z.iso.datetime().meta({ description: 'the latest heartbeat of any of its instances' }),
  })
  .meta({ id: 'HostSummary' });
export type HostSummary = z.infer<typeof hostSummarySchema>;

const leaderSchema = z
  .object({ host: z.string(), pid: z.int().positive() })
  .nullable()
  .meta({
    description:
      'the receiver instance that holds the leader lock (recovery, reconciliation, reply timeouts, pruning, this snapshot); ' +
      'null when this snapshot was collected by another instance (no leader yet, or the shared snapshot unreachable)',
  });

/** What the health leader collects about once a second and shares (health-cache.ts). */
export const healthSnapshotSchema = z.object({
  status: z.enum(['ok', 'degraded', 'down']).meta({
    description:
      'down: Postgres unreachable; degraded: Redis or the interface queue unreachable, or an app of the pipeline with no live instance on any host',
  }),
  generatedAt: z.iso.datetime().meta({ description: 'UTC, ISO 8601' }),
  leader: leaderSchema,
  dependencies: z.object({ postgres: dependencyHealthSchema, redis: dependencyHealthSchema, interfaceQueue: dependencyHealthSchema }),
  instances: z.array(liveInstanceSchema).meta({
    description:
      'every live app instance of every host, from the instance registry (SPEC §9); an instance that missed 3 heartbeats is not shown',
  }),
  queues: z.record(z.string(), queueStatisticsSchema).meta({ description: 'by BullMQ queue name' }),
  interfaceQueues: z.record(z.string(), z.object({ messages: count })).meta({
    description:
      'by interface queue name (requests, statuses, poison): messages held, invisible ones included; empty while the queue service does not answer',
  }),
  requests: requestStatisticsSchema.nullable().meta({ description: 'null while Postgres does not answer' }),
  counters: z.record(z.string(), z.number()).meta({
    description: 'pipeline event totals, e.g. "jobs:check-allowed:done", "replies:poisoned", "sends:held-back"',
  }),
});
export type HealthSnapshot = z.infer<typeof healthSnapshotSchema>;

export const admissionSchema = z.union([
  z.object({ accepting: z.literal(true), reason: z.null() }),
  z.object({
    accepting: z.literal(false),
    reason: z.string().meta({ description: 'why not, e.g. "the pipeline is 185 s behind (…)"' }),
  }),
]);
export type Admission = z.infer<typeof admissionSchema>;

/**
 * GET /healthz: the snapshot, how old it is, the hosts of its live instances, the PM2 of the host
 * that answered, and whether this receiver admits new requests on it.
 */
export const healthReportSchema = healthSnapshotSchema
  .extend({
    hosts: z.array(hostSummarySchema).meta({ description: 'one entry per host with a live instance, from `instances`' }),
    pm2: pm2SectionSchema,
    ageMs: z.number().meta({ description: 'how old the snapshot is' }),
    admission: admissionSchema.meta({
      description: 'whether this receiver takes new backup requests on this snapshot (503 pipeline-overloaded when not)',
    }),
  })
  .meta({ id: 'HealthSnapshot', description: 'What dashboards poll (SPEC §5.4), served from a snapshot refreshed about every second.' });
export type HealthReport = z.infer<typeof healthReportSchema>;

export const healthStartingSchema = z
  .object({ status: z.literal('starting') })
  .meta({ id: 'HealthStarting', description: 'before the first snapshot is taken' });
