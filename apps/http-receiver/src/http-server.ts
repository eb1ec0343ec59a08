import { createServer, type Server } from 'node:http';
import type { Express } from 'express';

/** Listens, resolving only once the port is really bound (an EADDRINUSE rejects). */
export function listen(app: Express, host: string, port: number): Promise<Server> {
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Stops accepting connections and lets in-flight requests finish. Keep-alive sockets are closed as
 * soon as they fall idle (responses during shutdown also say `Connection: close`, see receiver-app).
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.close((err) => {
      clearInterval(sweep);
      if (err) reject(err);
      else resolve();
    });
  });
}
