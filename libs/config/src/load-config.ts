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
  logLevel: Env['LINEBACKER_LOG_LEVEL'];
  shutdownTimeoutMs: number;
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
    logLevel: e.LINEBACKER_LOG_LEVEL,
    shutdownTimeoutMs: e.LINEBACKER_SHUTDOWN_TIMEOUT_MS,
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
