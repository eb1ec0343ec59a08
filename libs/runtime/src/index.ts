export { runApp, type AppContext, type RunAppOptions } from './run-app.js';
export { createLogger, type Logger } from './logger.js';
export { Shutdown, type Releaser } from './shutdown.js';
export { withTimeout } from './with-timeout.js';
export { startPeriodicTask, type PeriodicTask } from './periodic-task.js';
export { WorkInProgress } from './work-in-progress.js';
export { startWakeableTask, type WakeableTask } from './wakeable-task.js';
