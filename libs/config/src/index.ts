export {
  loadConfig,
  loadConfigOrExit,
  azuriteConnectionString,
  ConfigError,
  type Config,
  type JwtConfig,
  type RetryConfig,
  type WorkerConfig,
} from './load-config.js';
