export { runApp, type AppContext } from './run-app.js';
export { createLogger, type Logger } from './logger.js';
export { Shutdown, type Releaser } from './shutdown.js';
export { ECOSYSTEM_FILE, REPO_ROOT, pipelineAppNames } from './pipeline-apps.js';
