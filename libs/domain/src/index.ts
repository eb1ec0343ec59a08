export * from './request-status.js';
export * from './backup-request.js';
export * from './field-error.js';
export * from './calendar-date.js';
export * from './backup-request-input.js';
export * from './backup-job.js';
export * from './scopes.js';
export * from './api-key.js';
