import { z } from 'zod';

// 0 asks the OS for a free port (tests)
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalUrl = z.url().optional();
const ratio = z.coerce.number().min(0).max(1);
const onOff = z.enum(['on', 'off']);
const queueName = z
  .string()
  .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid Azure queue name (3-63 of a-z, 0-9, single "-")');

/**
 * Every setting of linebacker, read from the environment by name (README "Configuration").
 * This schema is the only place where an environment variable name appears.
 */
export const configSchema = z
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
      .default('redis://127.0.0.1:6379'),
    LINEBACKER_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, "_", "." or "-"')
      .default('linebacker'),
    LINEBACKER_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
    LINEBACKER_HTTP_PORT: port.default(3000),
    LINEBACKER_HTTP_INSTANCES: positiveInt.default(1),
    LINEBACKER_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    LINEBACKER_SHUTDOWN_TIMEOUT_MS: positiveInt.default(8000),
    LINEBACKER_ENQUEUE_TIMEOUT_MS: positiveInt.default(1000),
    LINEBACKER_RETRY_AFTER_SECONDS: positiveInt.default(5),
    LINEBACKER_RATE_LIMIT_PER_MINUTE: positiveInt.default(120_000),
    LINEBACKER_AUTH_CACHE_MS: z.coerce.number().int().min(0).default(10_000),
    LINEBACKER_JWT_ISSUER: z.string().min(1).optional(),
    LINEBACKER_JWT_AUDIENCE: z.string().min(1).optional(),
    LINEBACKER_JWT_JWKS_URL: optionalUrl,
    LINEBACKER_ADMISSION_MAX_BACKLOG: z.coerce.number().int().min(0).default(20_000),
    LINEBACKER_ADMISSION_MAX_WAIT_S: z.coerce.number().int().min(0).default(120),

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
    LINEBACKER_INTERFACE_MAX_DEPTH: positiveInt.default(300),
    LINEBACKER_INTERFACE_DEPTH_SAMPLE_MS: positiveInt.default(200),

    LINEBACKER_HEALTH_REFRESH_MS: positiveInt.default(1000),
    /** Set by PM2 in every process it runs. */
    pm_id: z.string().optional(),
    exec_mode: z.string().optional(),

    LINEBACKER_RECOVERY_DELAY_MS: z.coerce.number().int().min(0).default(5000),
    LINEBACKER_RECONCILE_INTERVAL_MS: positiveInt.default(30_000),
    LINEBACKER_RECONCILE_GRACE_MS: z.coerce.number().int().min(0).default(5000),
    LINEBACKER_RECONCILE_BATCH_SIZE: positiveInt.default(1000),
    LINEBACKER_REPLY_TIMEOUT_MS: positiveInt.default(24 * 3600 * 1000),

    LINEBACKER_RETRY_START_MS: positiveInt.default(1000),
    LINEBACKER_RETRY_MAX_MS: positiveInt.default(60_000),
    LINEBACKER_RETRY_MAX_ATTEMPTS: positiveInt.default(10),
    LINEBACKER_RETRY_MAX_AGE_MS: positiveInt.default(24 * 3600 * 1000),
  })
  .superRefine((env, ctx) => {
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
  });

export type Env = z.infer<typeof configSchema>;
