export { loadConfig, loadConfigOrExit, ConfigError, type Config, type JwtConfig } from './load-config.js';
