import { Router, type RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { requireScope } from '../auth/auth-middleware.js';
import { parseCounterField, type CounterKey } from '@linebacker/queues';
import type { Pm2App } from './health-schemas.js';
import type { Health } from './start-health.js';
import { hostsOf, liveInstances } from './hosts.js';
import type { EventFeed } from '../events/event-feed.js';
import { registerEventStreamMetrics } from '../events/event-stream-metrics.js';

/**
 * GET /metrics (scope ops:read), Prometheus text format (SPEC §5.4): the /healthz figures, read
 * from the same cached snapshot at scrape time (so scraping adds no load on Redis or Postgres),
 * the PM2 list of this host (read at most once a refresh period), this process's HTTP rate and
 * latency, the new requests it refused under overload (admission.ts) and Node.js runtime metrics,
 * and the pipeline counters every app adds to Redis (jobs per step and outcome, processing time,
 * retries, poison messages, reconciliation repairs). With several receiver instances each scrape
 * reaches one of them: HTTP and runtime series describe that instance (label `pid`), PM2 series
 * its host (label `host`); pipeline-wide series, `linebacker_instances` included, are the same in all.
 */
export interface ReceiverMetrics {
  router: Router;
  observeHttp: RequestHandler;
  countRefusedOverload: () => void;
  /** A credential looked up in Postgres (a cache miss): API key, JWT subject or browser session. */
  countCredentialLookup: (kind: CredentialKind) => void;
  /** A caller refused with 429 before authentication (too many failures from its address). */
  countAuthThrottled: () => void;
}

export type CredentialKind = 'api-key' | 'jwt-subject' | 'session';

/**
 * `host` is this receiver's LINEBACKER_HOST_NAME: the label of the PM2 series, which describe the
 * PM2 of the host that was scraped (SPEC §9); `linebacker_instances` covers every host.
 */
export function createMetrics(
  health: Pick<Health, 'current' | 'localPm2'>,
  host: string,
  eventFeed?: Pick<EventFeed, 'subscriberCount' | 'disconnectCounts'>,
): ReceiverMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ pid: String(process.pid) });
  collectDefaultMetrics({ register: registry });
  if (eventFeed) registerEventStreamMetrics(registry, eventFeed);

  const httpRequests = new Counter({
    name: 'linebacker_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'linebacker_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const refusedOverload = new Counter({
    name: 'linebacker_http_requests_refused_overload_total',
    help: 'new backup requests this process refused with 503 because the pipeline was overloaded (admission control)',
    registers: [registry],
  });

  const credentialLookups = new Counter({
    name: 'linebacker_auth_lookups_total',
    help: 'credentials this process looked up in Postgres (cache misses), by kind (api-key, jwt-subject, session)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const authThrottled = new Counter({
    name: 'linebacker_auth_throttled_total',
    help: 'requests this process refused with 429 before authenticating them: too many failed authentications from their address',
    registers: [registry],
  });

  /** A metric whose values are set afresh from the snapshot at each scrape. */
  const fromSnapshot = <M extends Gauge | Counter>(
    Metric: new (config: { name: string; help: string; labelNames: string[]; registers: Registry[]; collect: (this: M) => void }) => M,
    name: string,
    help: string,
    labelNames: string[],
    fill: (metric: M) => void,
  ) =>
    new Metric({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });
  const snapshotGauge = (name: string, help: string, labelNames: string[], fill: (gauge: Gauge) => void) =>
    fromSnapshot(Gauge, name, help, labelNames, fill);
  /** A gauge per app of this host's PM2 (read at most once a refresh period), labelled with the host. */
  const localPm2Gauge = (name: string, help: string, value: (app: Pm2App) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['host', 'app'],
      registers: [registry],
      async collect() {
        const { apps } = await health.localPm2();
        this.reset();
        for (const app of apps) this.set({ host, app: app.name }, value(app));
      },
    });
  const current = () => health.current();

  snapshotGauge('linebacker_health_status', '1 for the current overall status (ok, degraded, down)', ['status'], (g) => {
    for (const status of ['ok', 'degraded', 'down']) g.set({ status }, current()?.status === status ? 1 : 0);
  });
  snapshotGauge('linebacker_dependency_up', '1 when the dependency answers', ['dependency'], (g) => {
    for (const [dependency, d] of Object.entries(current()?.dependencies ?? {})) g.set({ dependency }, d.status === 'up' ? 1 : 0);
  });
  snapshotGauge('linebacker_dependency_latency_seconds', 'latency of the last dependency check', ['dependency'], (g) => {
    for (const [dependency, d] of Object.entries(current()?.dependencies ?? {})) {
      if (d.latencyMs !== null) g.set({ dependency }, d.latencyMs / 1000);
    }
  });
  localPm2Gauge('linebacker_pm2_instances_online', "online PM2 instances per app, in the scraped host's PM2", (app) => app.online);
  localPm2Gauge('linebacker_pm2_restarts', "PM2 restarts per app (sum over instances), in the scraped host's PM2", (app) => app.restarts);
  localPm2Gauge('linebacker_pm2_memory_bytes', "resident memory per app (sum over instances), in the scraped host's PM2", (app) => app.memoryBytes);
  localPm2Gauge('linebacker_pm2_cpu_percent', "CPU per app (sum over instances), in the scraped host's PM2", (app) => app.cpuPercent);
  snapshotGauge('linebacker_instances', 'live app instances per host and app, from the instance registry (every host)', ['host', 'app'], (g) => {
    const snapshot = current();
    for (const summary of hostsOf(snapshot ? liveInstances(snapshot.instances, snapshot.generatedAt, Date.now()) : [])) {
      for (const [app, count] of Object.entries(summary.apps)) g.set({ host: summary.host, app }, count);
    }
  });
  snapshotGauge('linebacker_queue_jobs', 'BullMQ jobs per queue and state', ['queue', 'state'], (g) => {
    for (const [queue, stats] of Object.entries(current()?.queues ?? {})) {
      for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed'] as const) g.set({ queue, state }, stats[state]);
    }
  });
  snapshotGauge('linebacker_queue_oldest_waiting_age_seconds', 'age of the oldest waiting job', ['queue'], (g) => {
    for (const [queue, stats] of Object.entries(current()?.queues ?? {})) g.set({ queue }, stats.oldestWaitingAgeSeconds ?? 0);
  });
  snapshotGauge('linebacker_interface_queue_messages', 'messages held by each interface queue, invisible ones included', ['queue'], (g) => {
    for (const [queue, { messages }] of Object.entries(current()?.interfaceQueues ?? {})) g.set({ queue }, messages);
  });
  snapshotGauge('linebacker_requests', 'backup requests per status', ['status'], (g) => {
    for (const [status, count] of Object.entries(current()?.requests?.byStatus ?? {})) g.set({ status }, count);
  });
  snapshotGauge('linebacker_oldest_open_request_age_seconds', 'age of the oldest request still in the pipeline', [], (g) => {
    g.set(current()?.requests?.oldestNonTerminalAgeSeconds ?? 0);
  });

  /** Totals from the counters hash (libs/queues counter-keys.ts), as Prometheus counters set to the total at each scrape. */
  const pipelineCounter = (name: string, help: string, labelNames: string[], pick: (key: CounterKey) => Record<string, string> | undefined, scale = 1) =>
    fromSnapshot(Counter, name, help, labelNames, (counter: Counter) => {
      for (const [field, total] of Object.entries(current()?.counters ?? {})) {
        const key = parseCounterField(field);
        const labels = key && pick(key);
        if (labels) counter.inc(labels, total * scale);
      }
    });
  pipelineCounter('linebacker_step_jobs_total', 'jobs per pipeline step and outcome (done, no-op, retried, gave-up)', ['step', 'outcome'], (key) =>
    key.kind === 'job' ? { step: key.step, outcome: key.outcome } : undefined,
  );
  pipelineCounter('linebacker_step_processing_seconds_total', 'time spent in each step (divide by done + no-op jobs for the mean)', ['step'], (key) =>
    key.kind === 'step-ms' ? { step: key.step } : undefined,
  1 / 1000);
  pipelineCounter('linebacker_replies_total', 'interface replies: received, poisoned, and how receive-status applied them', ['kind'], (key) =>
    key.kind === 'reply' ? { kind: key.outcome } : undefined,
  );
  pipelineCounter('linebacker_interface_sends_held_back_total', 'sends that waited for room in the interface queues (flow control)', [], (key) =>
    key.kind === 'sends-held-back' ? {} : undefined,
  );
  pipelineCounter('linebacker_interface_sends_held_back_seconds_total', 'time sends waited for room in the interface queues', [], (key) =>
    key.kind === 'sends-held-back-ms' ? {} : undefined,
  1 / 1000);
  pipelineCounter('linebacker_reconciliation_repairs_total', 'requests reconciliation re-added or timed out', ['repair'], (key) =>
    key.kind === 'reconcile' ? { repair: key.repair } : undefined,
  );
  pipelineCounter('linebacker_pruned_rows_total', 'bookkeeping rows the leader deleted after their retention, by table', ['table'], (key) =>
    key.kind === 'pruned' ? { table: key.table } : undefined,
  );
  pipelineCounter(
    'linebacker_webhook_deliveries_total',
    'webhook deliveries by outcome: fanned-out (created), delivered, attempt-failed (retried later), gave-up (failed after the retry window)',
    ['outcome'],
    (key) => (key.kind === 'webhook' ? { outcome: key.outcome } : undefined),
  );

  const observeHttp: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      const labels = { method: req.method, route: route ? `${req.baseUrl}${route}` : 'unmatched' };
      httpRequests.inc({ ...labels, status: String(res.statusCode) });
      httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };

  const router = Router();
  router.get('/metrics', requireScope('ops:read'), async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return {
    router,
    observeHttp,
    countRefusedOverload: () => refusedOverload.inc(),
    countCredentialLookup: (kind) => credentialLookups.inc({ kind }),
    countAuthThrottled: () => authThrottled.inc(),
  };
}
