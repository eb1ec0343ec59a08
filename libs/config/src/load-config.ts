import { existsSync } from 'node:fs';
import { configSchema, type Env } from './config-schema.js';

export interface JwtConfig {
  issuer: string;
  audience: string;
  jwksUrl: string;
}

/** The typed, frozen configuration every app and script works from. */
export interface Config {
  database: { url: string; poolSize: number; connectTimeoutMs: number };
  redis: { url: string; queuePrefix: string };
  http: {
    host: string;
    port: number;
    instances: number;
    enqueueTimeoutMs: number;
    retryAfterSeconds: number;
    rateLimitPerMinute: number;
    authCacheMs: number;
    jwt: JwtConfig | undefined;
  };
  /** When the receiver refuses new requests (503) because the pipeline is far behind; 0 turns a rule off. */
  admission: {
    /** Jobs waiting in `created`, `allowed` and `status-received` together. */
    maxBacklog: number;
    /** Age of the oldest waiting job in `created` or `status-received`. */
    maxWaitSeconds: number;
  };
  interface: {
    connectionString: string;
    /** Set when no AZURE_STORAGE_CONNECTION_STRING is given: Azurite is started under PM2. */
    embeddedAzurite: { port: number; location: string } | undefined;
    requestQueue: string;
    statusQueue: string;
    poisonQueue: string;
    /** Flow control: sends wait while the request and status queues hold this many messages. */
    maxDepth: number;
    /** How often send-to-interface reads the queues' depth while it sends. */
    depthSampleMs: number;
  };
  simulator: { enabled: boolean; failureRatio: number; malformedRatio: number; delayMs: number };
  workers: { checkAllowed: WorkerConfig; sendToInterface: WorkerConfig; receiveStatus: WorkerConfig };
  statusReceiver: {
    batchSize: number;
    visibilityTimeoutSeconds: number;
    maxIdlePollMs: number;
    batchWaitMs: number;
    /** Most receives in progress at once while a backlog is waiting (one while idle). */
    concurrency: number;
  };
  retry: RetryConfig;
  reconciliation: {
    /** Wait after start before the first pass (startup recovery). */
    startupDelayMs: number;
    intervalMs: number;
    /** Requests that changed less than this long ago are left to the pipeline. */
    graceMs: number;
    batchSize: number;
    /** Sent requests without a reply for this long become Failed. */
    replyTimeoutMs: number;
  };
  health: { refreshMs: number };
  /** True when this process runs under PM2. */
  underPm2: boolean;
  /** True in a PM2 cluster-mode worker, whose stdout PM2 captures only through process.stdout. */
  pm2ClusterMode: boolean;
  logLevel: Env['LINEBACKER_LOG_LEVEL'];
  shutdownTimeoutMs: number;
  /** When set, `npm start` runs every app with `--cpu-prof` writing V8 CPU profiles here at exit. */
  profileDir: string | undefined;
  /** V8 heap caps of each linebacker app under PM2 (`--max-old-space-size`, `--max-semi-space-size`). */
  heap: { maxOldSpaceMb: number; maxSemiSpaceMb: number };
}

export interface WorkerConfig {
  concurrency: number;
}

export interface RetryConfig {
  startMs: number;
  maxMs: number;
  /** For transient failures other than connection failures. */
  maxAttempts: number;
  /** Connection failures are retried until the request is older than this. */
  maxAgeMs: number;
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

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Reads the whole configuration at once; throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const jwt =
    e.LINEBACKER_JWT_ISSUER && e.LINEBACKER_JWT_AUDIENCE && e.LINEBACKER_JWT_JWKS_URL
      ? { issuer: e.LINEBACKER_JWT_ISSUER, audience: e.LINEBACKER_JWT_AUDIENCE, jwksUrl: e.LINEBACKER_JWT_JWKS_URL }
      : undefined;
  const embedded = e.AZURE_STORAGE_CONNECTION_STRING === undefined;
  return deepFreeze({
    database: {
      url: e.DATABASE_URL,
      poolSize: e.LINEBACKER_DB_POOL_SIZE,
      connectTimeoutMs: e.LINEBACKER_DB_CONNECT_TIMEOUT_MS,
    },
    redis: { url: e.REDIS_URL, queuePrefix: e.LINEBACKER_QUEUE_PREFIX },
    http: {
      host: e.LINEBACKER_HTTP_HOST,
      port: e.LINEBACKER_HTTP_PORT,
      instances: e.LINEBACKER_HTTP_INSTANCES,
      enqueueTimeoutMs: e.LINEBACKER_ENQUEUE_TIMEOUT_MS,
      retryAfterSeconds: e.LINEBACKER_RETRY_AFTER_SECONDS,
      rateLimitPerMinute: e.LINEBACKER_RATE_LIMIT_PER_MINUTE,
      authCacheMs: e.LINEBACKER_AUTH_CACHE_MS,
      jwt,
    },
    admission: { maxBacklog: e.LINEBACKER_ADMISSION_MAX_BACKLOG, maxWaitSeconds: e.LINEBACKER_ADMISSION_MAX_WAIT_S },
    interface: {
      connectionString: e.AZURE_STORAGE_CONNECTION_STRING ?? azuriteConnectionString('127.0.0.1', e.LINEBACKER_AZURITE_PORT),
      embeddedAzurite: embedded
        ? { port: e.LINEBACKER_AZURITE_PORT, location: `${e.LINEBACKER_DATA_DIR ?? defaultDataDir()}/azurite` }
        : undefined,
      requestQueue: e.LINEBACKER_INTERFACE_REQUEST_QUEUE,
      statusQueue: e.LINEBACKER_INTERFACE_STATUS_QUEUE,
      poisonQueue: e.LINEBACKER_INTERFACE_POISON_QUEUE ?? `${e.LINEBACKER_INTERFACE_STATUS_QUEUE}-poison`,
      maxDepth: e.LINEBACKER_INTERFACE_MAX_DEPTH,
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
      concurrency: e.LINEBACKER_RECEIVER_CONCURRENCY,
    },
    retry: {
      startMs: e.LINEBACKER_RETRY_START_MS,
      maxMs: e.LINEBACKER_RETRY_MAX_MS,
      maxAttempts: e.LINEBACKER_RETRY_MAX_ATTEMPTS,
      maxAgeMs: e.LINEBACKER_RETRY_MAX_AGE_MS,
    },
    reconciliation: {
      startupDelayMs: e.LINEBACKER_RECOVERY_DELAY_MS,
      intervalMs: e.LINEBACKER_RECONCILE_INTERVAL_MS,
      graceMs: e.LINEBACKER_RECONCILE_GRACE_MS,
      batchSize: e.LINEBACKER_RECONCILE_BATCH_SIZE,
      replyTimeoutMs: e.LINEBACKER_REPLY_TIMEOUT_MS,
    },
    health: { refreshMs: e.LINEBACKER_HEALTH_REFRESH_MS },
    underPm2: e.pm_id !== undefined,
    pm2ClusterMode: e.exec_mode === 'cluster_mode',
    logLevel: e.LINEBACKER_LOG_LEVEL,
    shutdownTimeoutMs: e.LINEBACKER_SHUTDOWN_TIMEOUT_MS,
    profileDir: e.LINEBACKER_PROFILE_DIR,
    heap: { maxOldSpaceMb: e.LINEBACKER_MAX_OLD_SPACE_MB, maxSemiSpaceMb: e.LINEBACKER_MAX_SEMI_SPACE_MB },
  });
}

/** For entry points: load the configuration, or print every problem and exit 1 before anything connects. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`linebacker: ${err.message}\n`);
    process.exit(1);
  }
}
