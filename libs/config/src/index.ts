export { loadConfig, loadConfigOrExit, ConfigError } from './load-config.js';
export { redactUrl } from './redact-url.js';
export type { HostPort, RedisConfig, RedisTopology } from './redis-settings.js';
export { azuriteConnectionString, envSchema, type Config, type JwtConfig, type RetryConfig, type JobRetentionConfig, type RetentionName, type WebhookConfig } from './config-schema.js';
