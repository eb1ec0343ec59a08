import { z } from 'zod';

// 0 asks the OS for a free port (tests)
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalUrl = z.url().optional();

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
