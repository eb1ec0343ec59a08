import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * pino JSON to stdout, written asynchronously so that logging never blocks a hot path; pino
 * flushes the buffer when the process exits.
 */
export function createLogger(app: string, level: string): Logger {
  return pino(
    { level, base: { app, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}
