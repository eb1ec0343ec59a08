import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { HOST_PORT_LIST, parseHostPortList, redisConfig, redisUrlProblem, splitRedisUrl } from './redis-settings.js';

// 0 asks the OS for a free port (tests)
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalUrl = z.url().optional();
const ratio = z.coerce.number().min(0).max(1);
const onOff = z.enum(['on', 'off']);
/** PM2 app names separated by commas. */
const appNames = z.string().regex(/^[a-z0-9-]+(,[a-z0-9-]+)*$/, 'must be PM2 app names separated by commas');
const queueName = z
  .string()
  .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid Azure queue name (3-63 of a-z, 0-9, single "-")');

/** How far the HTTP keep-alive timeout must stay below the shutdown deadline (see its check below). */
const KEEP_ALIVE_SHUTDOWN_MARGIN_MS = 2000;

/**
 * Every setting of linebacker, read from the environment by name (README "Configuration", checked
 * against this schema by config-schema.test.ts). This schema is the only place where an
 * environment variable name appears.
 */
export const envSchema = z
  .object({
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .default('postgres://postgres@127.0.0.1:5432/linebacker'),
    LINEBACKER_DB_POOL_SIZE: positiveInt.default(10),
    LINEBACKER_DB_CONNECT_TIMEOUT_MS: positiveInt.default(3000),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .superRefine((url, ctx) => {
        const problem = redisUrlProblem(url);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('redis://127.0.0.1:6379'),
    REDIS_USERNAME: z.string().min(1).optional(),
    REDIS_PASSWORD: z.string().min(1).optional(),
    LINEBACKER_REDIS_SENTINELS: z.string().regex(HOST_PORT_LIST, 'must be host:port pairs separated by commas').optional(),
    LINEBACKER_REDIS_SENTINEL_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, "_", "." or "-"')
      .default('mymaster'),
    LINEBACKER_REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
    LINEBACKER_REDIS_CLUSTER_NODES: z.string().regex(HOST_PORT_LIST, 'must be host:port pairs separated by commas').optional(),
    LINEBACKER_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, "_", "." or "-"')
      .default('linebacker'),
    LINEBACKER_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
    LINEBACKER_HTTP_PORT: port.default(3000),
    LINEBACKER_HTTP_INSTANCES: positiveInt.default(1),
    LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(5000),
    LINEBACKER_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    LINEBACKER_SHUTDOWN_TIMEOUT_MS: positiveInt.default(8000),
    LINEBACKER_ENQUEUE_TIMEOUT_MS: positiveInt.default(1000),
    LINEBACKER_RETRY_AFTER_SECONDS: positiveInt.default(5),
    LINEBACKER_RATE_LIMIT_PER_MINUTE: positiveInt.default(6_000),
    LINEBACKER_AUTH_CACHE_MS: z.coerce.number().int().min(0).max(10_000).default(10_000),
    LINEBACKER_AUTH_FAILURES_PER_MINUTE: positiveInt.default(30),
    LINEBACKER_SESSION_IDLE_MS: positiveInt.default(30 * 60_000),
    LINEBACKER_SESSION_MAX_MS: positiveInt.default(12 * 60 * 60_000),
    LINEBACKER_TRUST_PROXY: z
      .string()
      .regex(
        /^(?:false|true|\d{1,2}|(?:loopback|linklocal|uniquelocal|[0-9A-Fa-f.:/]+)(?:,(?:loopback|linklocal|uniquelocal|[0-9A-Fa-f.:/]+))*)$/,
        'must be false, true, a number of hops, loopback/linklocal/uniquelocal, or addresses/subnets separated by commas',
      )
      .default('false'),
    LINEBACKER_JWT_ISSUER: z.string().min(1).optional(),
    LINEBACKER_JWT_AUDIENCE: z.string().min(1).optional(),
    LINEBACKER_JWT_JWKS_URL: optionalUrl,
    LINEBACKER_ADMISSION_MAX_BACKLOG: z.coerce.number().int().min(0).default(10_000),
    LINEBACKER_ADMISSION_MAX_WAIT_S: z.coerce.number().int().min(0).default(120),
    LINEBACKER_ADMISSION_MAX_DRAIN_S: z.coerce.number().int().min(0).default(20),
    LINEBACKER_ADMISSION_MIN_BACKLOG: z.coerce.number().int().min(0).default(1_000),

    AZURE_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
    LINEBACKER_AZURITE_PORT: port.default(10001),
    LINEBACKER_DATA_DIR: z.string().min(1).optional(),
    LINEBACKER_PROFILE_DIR: z.string().min(1).optional(),
    LINEBACKER_MAX_OLD_SPACE_MB: z.coerce.number().int().min(32).default(96),
    LINEBACKER_MAX_SEMI_SPACE_MB: z.coerce.number().int().min(1).max(64).default(8),
    LINEBACKER_INTERFACE_REQUEST_QUEUE: queueName.default('backup-requests'),
    LINEBACKER_INTERFACE_STATUS_QUEUE: queueName.default('backup-statuses'),
    LINEBACKER_INTERFACE_POISON_QUEUE: queueName.optional(),

    LINEBACKER_SIMULATOR: onOff.optional(),
    LINEBACKER_SIMULATOR_FAILURE_RATIO: ratio.default(0.1),
    LINEBACKER_SIMULATOR_MALFORMED_RATIO: ratio.default(0),
    LINEBACKER_SIMULATOR_DELAY_MS: z.coerce.number().int().min(0).default(500),

    LINEBACKER_CHECK_ALLOWED_CONCURRENCY: positiveInt.default(16),
    LINEBACKER_SEND_TO_INTERFACE_CONCURRENCY: positiveInt.default(16),
    LINEBACKER_RECEIVE_STATUS_CONCURRENCY: positiveInt.default(16),

    LINEBACKER_RECEIVER_BATCH_SIZE: z.coerce.number().int().min(1).max(32).default(32),
    LINEBACKER_RECEIVER_VISIBILITY_TIMEOUT_S: positiveInt.default(60),
    LINEBACKER_RECEIVER_MAX_IDLE_POLL_MS: positiveInt.default(1000),
    LINEBACKER_RECEIVER_BATCH_WAIT_MS: z.coerce.number().int().min(0).max(5000).default(50),
    LINEBACKER_RECEIVER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    LINEBACKER_MAX_DEQUEUE_COUNT: positiveInt.default(5),
    LINEBACKER_INTERFACE_MAX_DEPTH: positiveInt.default(150),
    LINEBACKER_INTERFACE_DEPTH_SAMPLE_MS: positiveInt.default(200),

    LINEBACKER_HEALTH_REFRESH_MS: positiveInt.default(1000),
    LINEBACKER_STATISTICS_REFRESH_MS: positiveInt.default(10_000),
    LINEBACKER_EVENTS_HEARTBEAT_MS: positiveInt.default(15_000),
    LINEBACKER_EVENTS_POLL_MS: positiveInt.default(1000),
    LINEBACKER_EVENTS_MAX_BUFFERED_BYTES: z.coerce.number().int().min(4096).default(1_048_576),
    LINEBACKER_QUEUE_DEPTH_SAMPLE_MS: z.coerce.number().int().min(1000).default(10_000),
    LINEBACKER_PIPELINE_APPS: appNames.optional(),
    LINEBACKER_HOST_APPS: appNames.optional(),
    LINEBACKER_HOST_NAME: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1-100 characters of A-Z, a-z, 0-9, ".", "_" or "-" (no ":")')
      .optional(),
    LINEBACKER_HEARTBEAT_MS: z.coerce.number().int().min(100).default(5000),
    /** Set by PM2 in every process it runs. */
    pm_id: z.string().optional(),
    exec_mode: z.string().optional(),

    LINEBACKER_RECOVERY_DELAY_MS: z.coerce.number().int().min(0).default(5000),
    LINEBACKER_RECONCILE_INTERVAL_MS: positiveInt.default(30_000),
    LINEBACKER_RECONCILE_GRACE_MS: z.coerce.number().int().min(0).default(5000),
    LINEBACKER_RECONCILE_BATCH_SIZE: positiveInt.default(1000),
    LINEBACKER_REPLY_TIMEOUT_MS: positiveInt.default(24 * 3600 * 1000),

    LINEBACKER_COMPLETED_JOB_RETENTION_COUNT: z.coerce.number().int().min(0).default(1000),
    LINEBACKER_COMPLETED_JOB_RETENTION_S: positiveInt.default(3600),
    LINEBACKER_FAILED_JOB_RETENTION_COUNT: z.coerce.number().int().min(0).default(1000),
    LINEBACKER_FAILED_JOB_RETENTION_S: positiveInt.default(7 * 24 * 3600),
    LINEBACKER_IDEMPOTENCY_KEY_RETENTION_S: positiveInt.default(24 * 3600),
    LINEBACKER_REJECTED_REPLY_RETENTION_S: positiveInt.default(30 * 24 * 3600),
    LINEBACKER_APPLIED_REPLY_RETENTION_S: positiveInt.default(7 * 24 * 3600),
    LINEBACKER_EXPIRED_SESSION_RETENTION_S: positiveInt.default(24 * 3600),
    LINEBACKER_EVENT_RETENTION_S: positiveInt.default(7 * 24 * 3600),
    LINEBACKER_PRUNE_INTERVAL_MS: positiveInt.default(60_000),
    LINEBACKER_PRUNE_BATCH_SIZE: positiveInt.default(1000),

    LINEBACKER_WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
    LINEBACKER_WEBHOOK_MAX_AGE_MS: positiveInt.default(24 * 3600 * 1000),
    LINEBACKER_WEBHOOK_RETRY_START_MS: positiveInt.default(1000),
    LINEBACKER_WEBHOOK_RETRY_MAX_MS: positiveInt.default(3600 * 1000),
    LINEBACKER_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
    LINEBACKER_WEBHOOK_SECRET_KEY: z
      .string()
      .refine((value) => /^[A-Za-z0-9+/]{43}=$/.test(value) && Buffer.from(value, 'base64').length === 32, 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)')
      .optional(),
    LINEBACKER_WEBHOOK_ENDPOINT_CONCURRENCY: positiveInt.default(4),
    LINEBACKER_NOTIFIER_CONCURRENCY: positiveInt.default(32),
    LINEBACKER_NOTIFIER_POLL_MS: positiveInt.default(1000),
    LINEBACKER_NOTIFIER_FAN_OUT_GAP_MS: positiveInt.default(100),
    LINEBACKER_DELIVERY_RETENTION_S: positiveInt.default(7 * 24 * 3600),

    LINEBACKER_RETRY_START_MS: positiveInt.default(1000),
    LINEBACKER_RETRY_MAX_MS: positiveInt.default(60_000),
    LINEBACKER_RETRY_MAX_ATTEMPTS: positiveInt.default(10),
    LINEBACKER_RETRY_MAX_AGE_MS: positiveInt.default(24 * 3600 * 1000),
  })
  .superRefine((env, ctx) => {
    redisProblems(env, ctx);
    const jwt = [env.LINEBACKER_JWT_ISSUER, env.LINEBACKER_JWT_AUDIENCE, env.LINEBACKER_JWT_JWKS_URL];
    const given = jwt.filter((value) => value !== undefined).length;
    if (given !== 0 && given !== jwt.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['LINEBACKER_JWT_ISSUER'],
        message:
          'JWT auth needs all of LINEBACKER_JWT_ISSUER, LINEBACKER_JWT_AUDIENCE and LINEBACKER_JWT_JWKS_URL, or none',
      });
    }
    // A stopping receiver waits for its idle keep-alive connections to end (apps/http-receiver
    // http-server.ts): up to this timeout + 1 s, which must leave room in the shutdown deadline.
    if (env.LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS > env.LINEBACKER_SHUTDOWN_TIMEOUT_MS - KEEP_ALIVE_SHUTDOWN_MARGIN_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS'],
        message: `must be at least ${KEEP_ALIVE_SHUTDOWN_MARGIN_MS} ms below LINEBACKER_SHUTDOWN_TIMEOUT_MS (${env.LINEBACKER_SHUTDOWN_TIMEOUT_MS}): a stopping receiver lets idle keep-alive connections run out first`,
      });
    }
  });

type Env = z.output<typeof envSchema>;

/** The Redis settings that only make sense together (SPEC §9: one way to reach Redis at a time). */
function redisProblems(
  env: Pick<Env, 'REDIS_URL' | 'REDIS_USERNAME' | 'REDIS_PASSWORD' | 'LINEBACKER_REDIS_SENTINELS' | 'LINEBACKER_REDIS_CLUSTER_NODES'>,
  ctx: z.RefinementCtx,
): void {
  if (env.LINEBACKER_REDIS_SENTINELS !== undefined && env.LINEBACKER_REDIS_CLUSTER_NODES !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['LINEBACKER_REDIS_CLUSTER_NODES'],
      message: 'set LINEBACKER_REDIS_SENTINELS (Redis Sentinel) or LINEBACKER_REDIS_CLUSTER_NODES (Redis Cluster), not both',
    });
  }
  for (const name of ['LINEBACKER_REDIS_SENTINELS', 'LINEBACKER_REDIS_CLUSTER_NODES'] as const) {
    const list = env[name];
    if (list === undefined || !HOST_PORT_LIST.test(list)) continue; // (a bad list is reported by its own schema)
    const bad = parseHostPortList(list).filter(({ port }) => port < 1 || port > 65535);
    if (bad.length > 0) ctx.addIssue({ code: 'custom', path: [name], message: `ports must be 1-65535 (${bad.map(({ port }) => port).join(', ')})` });
  }
  if (redisUrlProblem(env.REDIS_URL)) return; // reported on REDIS_URL itself
  const fromUrl = splitRedisUrl(env.REDIS_URL);
  if ((env.REDIS_USERNAME ?? fromUrl.username) !== undefined && (env.REDIS_PASSWORD ?? fromUrl.password) === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [env.REDIS_USERNAME !== undefined ? 'REDIS_USERNAME' : 'REDIS_URL'],
      message: 'a Redis username needs a password (REDIS_PASSWORD, or redis://user:password@… in REDIS_URL)',
    });
  }
  if (env.LINEBACKER_REDIS_CLUSTER_NODES !== undefined && fromUrl.db !== 0) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: `a Redis Cluster has only database 0, not ${fromUrl.db}` });
  }
}

/**
 * Where the embedded Azurite keeps its data: on tmpfs (/dev/shm) when the machine has it. Azurite
 * then runs about as fast as with --inMemoryPersistence (measured: ~800 vs ~1,000 sends/s, ~560 on
 * disk) without the in-memory extent garbage collection that stalls it for a minute after ~10k
 * messages. Like in-memory data it does not survive a reboot — it is a development emulator.
 */
function defaultDataDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm/linebacker' : '.linebacker';
}

/** The well-known development account of Azurite (public, documented by Microsoft). */
export function azuriteConnectionString(host: string, port: number): string {
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return (
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;' +
    'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;' +
    `QueueEndpoint=http://${authority}/devstoreaccount1;`
  );
}

/** LINEBACKER_TRUST_PROXY as Express takes it: a boolean, a hop count, or names/addresses. */
function trustProxySetting(value: string): boolean | number | string {
  if (value === 'false' || value === 'true') return value === 'true';
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** The settings grouped as the apps use them; the type `Config` is inferred from this. */
function toConfig(e: Env) {
  const jwt =
    e.LINEBACKER_JWT_ISSUER && e.LINEBACKER_JWT_AUDIENCE && e.LINEBACKER_JWT_JWKS_URL
      ? { issuer: e.LINEBACKER_JWT_ISSUER, audience: e.LINEBACKER_JWT_AUDIENCE, jwksUrl: e.LINEBACKER_JWT_JWKS_URL }
      : undefined;
  const embedded = e.AZURE_STORAGE_CONNECTION_STRING === undefined;
  return {
    database: {
      url: e.DATABASE_URL,
      poolSize: e.LINEBACKER_DB_POOL_SIZE,
      connectTimeoutMs: e.LINEBACKER_DB_CONNECT_TIMEOUT_MS,
    },
    redis: redisConfig({
      url: e.REDIS_URL,
      username: e.REDIS_USERNAME,
      password: e.REDIS_PASSWORD,
      sentinels: e.LINEBACKER_REDIS_SENTINELS,
      sentinelName: e.LINEBACKER_REDIS_SENTINEL_NAME,
      sentinelPassword: e.LINEBACKER_REDIS_SENTINEL_PASSWORD,
      clusterNodes: e.LINEBACKER_REDIS_CLUSTER_NODES,
      queuePrefix: e.LINEBACKER_QUEUE_PREFIX,
    }),
    http: {
      host: e.LINEBACKER_HTTP_HOST,
      port: e.LINEBACKER_HTTP_PORT,
      instances: e.LINEBACKER_HTTP_INSTANCES,
      /** How long an idle keep-alive connection stays open (announced in `Keep-Alive: timeout=`). */
      keepAliveTimeoutMs: e.LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS,
      enqueueTimeoutMs: e.LINEBACKER_ENQUEUE_TIMEOUT_MS,
      retryAfterSeconds: e.LINEBACKER_RETRY_AFTER_SECONDS,
      rateLimitPerMinute: e.LINEBACKER_RATE_LIMIT_PER_MINUTE,
      authCacheMs: e.LINEBACKER_AUTH_CACHE_MS,
      /** Failed authentications (and sign-ins) per source address per minute, then 429. */
      authFailuresPerMinute: e.LINEBACKER_AUTH_FAILURES_PER_MINUTE,
      session: { idleMs: e.LINEBACKER_SESSION_IDLE_MS, maxMs: e.LINEBACKER_SESSION_MAX_MS },
      /** Express's `trust proxy`: which proxies' X-Forwarded-For/-Proto/-Host to believe. */
      trustProxy: trustProxySetting(e.LINEBACKER_TRUST_PROXY),
      jwt,
    },
    /** When the receiver refuses new requests (503) because the pipeline is far behind; 0 turns a rule off. */
    admission: {
      maxBacklog: e.LINEBACKER_ADMISSION_MAX_BACKLOG,
      maxWaitSeconds: e.LINEBACKER_ADMISSION_MAX_WAIT_S,
      /** The backlog is also bounded by this many seconds of work at the pipeline's drain capacity… */
      maxDrainSeconds: e.LINEBACKER_ADMISSION_MAX_DRAIN_S,
      /** …but never below this many jobs. */
      minBacklog: e.LINEBACKER_ADMISSION_MIN_BACKLOG,
    },
    interface: {
      connectionString: e.AZURE_STORAGE_CONNECTION_STRING ?? azuriteConnectionString('127.0.0.1', e.LINEBACKER_AZURITE_PORT),
      /** Set when no AZURE_STORAGE_CONNECTION_STRING is given: Azurite is started under PM2. */
      embeddedAzurite: embedded
        ? { port: e.LINEBACKER_AZURITE_PORT, location: `${e.LINEBACKER_DATA_DIR ?? defaultDataDir()}/azurite` }
        : undefined,
      requestQueue: e.LINEBACKER_INTERFACE_REQUEST_QUEUE,
      statusQueue: e.LINEBACKER_INTERFACE_STATUS_QUEUE,
      poisonQueue: e.LINEBACKER_INTERFACE_POISON_QUEUE ?? `${e.LINEBACKER_INTERFACE_STATUS_QUEUE}-poison`,
      /** Flow control: sends wait while the request and status queues hold this many messages. */
      maxDepth: e.LINEBACKER_INTERFACE_MAX_DEPTH,
      /** How often send-to-interface reads the queues' depth while it sends. */
      depthSampleMs: e.LINEBACKER_INTERFACE_DEPTH_SAMPLE_MS,
    },
    simulator: {
      enabled: (e.LINEBACKER_SIMULATOR ?? (embedded ? 'on' : 'off')) === 'on',
      failureRatio: e.LINEBACKER_SIMULATOR_FAILURE_RATIO,
      malformedRatio: e.LINEBACKER_SIMULATOR_MALFORMED_RATIO,
      delayMs: e.LINEBACKER_SIMULATOR_DELAY_MS,
    },
    workers: {
      checkAllowed: { concurrency: e.LINEBACKER_CHECK_ALLOWED_CONCURRENCY },
      sendToInterface: { concurrency: e.LINEBACKER_SEND_TO_INTERFACE_CONCURRENCY },
      receiveStatus: { concurrency: e.LINEBACKER_RECEIVE_STATUS_CONCURRENCY },
    },
    statusReceiver: {
      batchSize: e.LINEBACKER_RECEIVER_BATCH_SIZE,
      visibilityTimeoutSeconds: e.LINEBACKER_RECEIVER_VISIBILITY_TIMEOUT_S,
      maxIdlePollMs: e.LINEBACKER_RECEIVER_MAX_IDLE_POLL_MS,
      batchWaitMs: e.LINEBACKER_RECEIVER_BATCH_WAIT_MS,
      /** Most receives in progress at once while a backlog is waiting (one while idle). */
      concurrency: e.LINEBACKER_RECEIVER_CONCURRENCY,
      /** A reply message received more often than this was never handled: it goes to the poison queue. */
      maxDequeueCount: e.LINEBACKER_MAX_DEQUEUE_COUNT,
    },
    retry: {
      startMs: e.LINEBACKER_RETRY_START_MS,
      maxMs: e.LINEBACKER_RETRY_MAX_MS,
      /** For transient failures other than connection failures. */
      maxAttempts: e.LINEBACKER_RETRY_MAX_ATTEMPTS,
      /** Connection failures are retried until the request is older than this. */
      maxAgeMs: e.LINEBACKER_RETRY_MAX_AGE_MS,
    },
    reconciliation: {
      /** Wait after start before the first pass (startup recovery). */
      startupDelayMs: e.LINEBACKER_RECOVERY_DELAY_MS,
      intervalMs: e.LINEBACKER_RECONCILE_INTERVAL_MS,
      /** Requests that changed less than this long ago are left to the pipeline. */
      graceMs: e.LINEBACKER_RECONCILE_GRACE_MS,
      batchSize: e.LINEBACKER_RECONCILE_BATCH_SIZE,
      /** Sent requests without a reply for this long become Failed. */
      replyTimeoutMs: e.LINEBACKER_REPLY_TIMEOUT_MS,
    },
    /**
     * How many finished jobs BullMQ keeps per queue, and for how long (seconds): BullMQ's KeepJobs,
     * given to the workers (libs/queues request-worker.ts), so no job carries them in its options.
     */
    jobRetention: {
      completed: { count: e.LINEBACKER_COMPLETED_JOB_RETENTION_COUNT, age: e.LINEBACKER_COMPLETED_JOB_RETENTION_S },
      failed: { count: e.LINEBACKER_FAILED_JOB_RETENTION_COUNT, age: e.LINEBACKER_FAILED_JOB_RETENTION_S },
    },
    /** The leader's pruning of bookkeeping rows (libs/db retention/expiring-rows.ts). */
    pruning: {
      intervalMs: e.LINEBACKER_PRUNE_INTERVAL_MS,
      /** Rows per DELETE statement. */
      batchSize: e.LINEBACKER_PRUNE_BATCH_SIZE,
      /** Seconds each kind of row is kept, by the `retention` name of its table. */
      retentionS: {
        idempotencyKeys: e.LINEBACKER_IDEMPOTENCY_KEY_RETENTION_S,
        rejectedReplies: e.LINEBACKER_REJECTED_REPLY_RETENTION_S,
        appliedReplies: e.LINEBACKER_APPLIED_REPLY_RETENTION_S,
        expiredSessions: e.LINEBACKER_EXPIRED_SESSION_RETENTION_S,
        events: e.LINEBACKER_EVENT_RETENTION_S,
        deliveries: e.LINEBACKER_DELIVERY_RETENTION_S,
      },
    },
    /** Webhooks (SPEC §8): the API's url check and the notifier's deliveries. */
    webhooks: {
      /** A delivery attempt's deadline (connect, send, answer). */
      timeoutMs: e.LINEBACKER_WEBHOOK_TIMEOUT_MS,
      /** Failed attempts are retried until the delivery is this old, then it is recorded failed. */
      maxAgeMs: e.LINEBACKER_WEBHOOK_MAX_AGE_MS,
      /** Retry backoff: start × 3^attempt, at most max, with jitter. */
      retryStartMs: e.LINEBACKER_WEBHOOK_RETRY_START_MS,
      retryMaxMs: e.LINEBACKER_WEBHOOK_RETRY_MAX_MS,
      /** Allow loopback, private and link-local destinations (development, tests). */
      allowPrivate: e.LINEBACKER_WEBHOOK_ALLOW_PRIVATE === 'true',
      /** Base64 of the 32-byte key sealing endpoint secrets at rest; undefined: stored as they are. */
      secretKey: e.LINEBACKER_WEBHOOK_SECRET_KEY,
      /** Attempts in flight to one endpoint, across every notifier. */
      endpointConcurrency: e.LINEBACKER_WEBHOOK_ENDPOINT_CONCURRENCY,
    },
    notifier: {
      /** Attempts in flight in one notifier process. */
      concurrency: e.LINEBACKER_NOTIFIER_CONCURRENCY,
      /** The notifier reads the outbox and the due deliveries at least this often (besides wake-ups). */
      pollMs: e.LINEBACKER_NOTIFIER_POLL_MS,
      /**
       * Fan-out passes start at least this long after the previous one ended (issue 10): under
       * load a pass reads a page of events instead of a few per wake-up.
       */
      fanOutGapMs: e.LINEBACKER_NOTIFIER_FAN_OUT_GAP_MS,
    },
    health: {
      refreshMs: e.LINEBACKER_HEALTH_REFRESH_MS,
      /**
       * Apps of the pipeline that must have a live instance on some host (the instance registry),
       * else /healthz is degraded (set by ecosystem.config.js for the http-receiver).
       */
      expectedApps: e.LINEBACKER_PIPELINE_APPS?.split(',') ?? [],
    },
    /** This process in the instance registry (SPEC §9; libs/queues instance-heartbeat.ts). */
    instance: {
      /** The host it runs on, as /healthz and the dashboard show it: unique per host. */
      hostName: e.LINEBACKER_HOST_NAME ?? hostname(),
      /** How often it announces itself; it counts as gone after 3 missed beats. */
      heartbeatMs: e.LINEBACKER_HEARTBEAT_MS,
    },
    /** The apps `npm start` starts on this host (ecosystem.config.js); undefined: all of them. */
    hostApps: e.LINEBACKER_HOST_APPS?.split(','),
    /** GET /api/v1/events (Server-Sent Events). */
    eventStream: {
      /** A comment line this often keeps proxies from closing an idle stream. */
      heartbeatMs: e.LINEBACKER_EVENTS_HEARTBEAT_MS,
      /** The receiver's reader of the outbox reads this often without a wake-up. */
      pollMs: e.LINEBACKER_EVENTS_POLL_MS,
      /** A subscriber whose connection holds more than this unread (beyond the kernel's buffers) is disconnected. */
      maxBufferedBytes: e.LINEBACKER_EVENTS_MAX_BUFFERED_BYTES,
    },
    /** The operator dashboard's charts (GET /api/v1/ops/statistics). */
    statistics: {
      /** The per-minute statistics are computed at most this often (shared by every dashboard). */
      refreshMs: e.LINEBACKER_STATISTICS_REFRESH_MS,
      /** The health leader keeps a sample of the queue depths this often, for an hour. */
      queueDepthSampleMs: e.LINEBACKER_QUEUE_DEPTH_SAMPLE_MS,
    },
    /** True when this process runs under PM2. */
    underPm2: e.pm_id !== undefined,
    /** True in a PM2 cluster-mode worker, whose stdout PM2 captures only through process.stdout. */
    pm2ClusterMode: e.exec_mode === 'cluster_mode',
    logLevel: e.LINEBACKER_LOG_LEVEL,
    shutdownTimeoutMs: e.LINEBACKER_SHUTDOWN_TIMEOUT_MS,
    /** When set, `npm start` runs every app with `--cpu-prof` writing V8 CPU profiles here at exit. */
    profileDir: e.LINEBACKER_PROFILE_DIR,
    /** V8 heap caps of each linebacker app under PM2 (`--max-old-space-size`, `--max-semi-space-size`). */
    heap: { maxOldSpaceMb: e.LINEBACKER_MAX_OLD_SPACE_MB, maxSemiSpaceMb: e.LINEBACKER_MAX_SEMI_SPACE_MB },
  };
}

/** The environment read into the typed configuration every app and script works from. */
export const configSchema = envSchema.transform(toConfig);
export type Config = z.output<typeof configSchema>;
export type JwtConfig = NonNullable<Config['http']['jwt']>;
export type RetryConfig = Config['retry'];
export type JobRetentionConfig = Config['jobRetention'];
export type RetentionName = keyof Config['pruning']['retentionS'];
export type WebhookConfig = Config['webhooks'];
