export { runApp, type AppContext } from './run-app.js';
export { createLogger, type Logger } from './logger.js';
export { Shutdown, type Releaser } from './shutdown.js';
