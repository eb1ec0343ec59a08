import { pino, type Logger } from 'pino';
import { serializeError } from './error-serializer.js';

export type { Logger };

/**
 * pino JSON to stdout. Normally written asynchronously straight to fd 1 (sonic-boom), so that
 * logging never blocks a hot path. In a PM2 cluster-mode worker fd 1 is not captured: PM2 takes
 * the output through process.stdout.write (and sends it on asynchronously), so we write there.
 */
export function createLogger(
  app: string,
  level: string,
  options: { pm2ClusterMode?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const destination =
    options.destination ?? (options.pm2ClusterMode ? process.stdout : pino.destination({ dest: 1, sync: false }));
  return pino(
    {
      level,
      base: { app, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // credentials never reach the logs
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      serializers: { err: serializeError },
    },
    destination,
  );
}
