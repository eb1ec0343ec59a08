import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from 'node:net';
import type { Express } from 'express';

/** Listens, resolving only once the port is really bound (an EADDRINUSE rejects). */
export function listen(app: Express, host: string, port: number): Promise<HttpServer> {
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
 * Stops accepting connections and lets in-flight requests finish. Idle keep-alive sockets are left
 * open for `graceMs` first: responses during shutdown say `Connection: close` (see receiver-app),
 * so busy clients close their sockets themselves; closing a socket from our side races with a
 * client that is sending on it at that instant (HTTP/1.1 keep-alive), which would fail its request
 * during a `pm2 reload`. After the grace, idle sockets are closed as they fall idle.
 */
export function closeServer(server: HttpServer, graceMs = 1500): Promise<void> {
  return new Promise((resolve, reject) => {
    let sweep: NodeJS.Timeout | undefined;
    const grace = setTimeout(() => {
      sweep = setInterval(() => server.closeIdleConnections(), 50);
    }, graceMs);
    // net.Server's close, not http.Server's: since Node 19 the latter also closes every idle
    // keep-alive socket at once, which is the race described above
    Server.prototype.close.call(server, (err?: Error) => {
      clearTimeout(grace);
      clearInterval(sweep);
      if (err) reject(err);
      else resolve();
    });
  });
}
