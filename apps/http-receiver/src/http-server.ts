import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from 'node:net';
import type { Express } from 'express';

/**
 * Listens, resolving only once the port is really bound (an EADDRINUSE rejects); in a PM2 cluster
 * worker, once the primary hands it connections, so `ready` after this is true.
 *
 * `keepAliveTimeoutMs` (LINEBACKER_HTTP_KEEP_ALIVE_TIMEOUT_MS, 5 s like Node's default) is how long
 * an idle keep-alive connection is kept. Node announces it in every response (`Keep-Alive:
 * timeout=5`) and closes an idle connection only a second after it (measured on Node 20: 6.0 s for
 * 5 s). Clients that honour the announcement drop the connection first (undici, so fetch: 2 s
 * before; Node's http.Agent with a `timeout` option: 1 s before), and a client that reuses a
 * connection within the timeout never meets a close. It has to stay short: a stopping receiver
 * waits for its idle connections to run out (see closeServer), within the shutdown deadline.
 * (It was 65 s, the usual "longer than the load balancer's 60 s"; behind a proxy that keeps idle
 * upstream connections longer than this and ignores the announcement, set the proxy's idle timeout
 * below it.)
 */
export function listen(app: Express, host: string, port: number, keepAliveTimeoutMs: number): Promise<HttpServer> {
  const server = createServer(app);
  server.keepAliveTimeout = keepAliveTimeoutMs;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Stops accepting connections and resolves once every open one has ended, never closing an idle
 * keep-alive connection from our side: with HTTP/1.1 a client may be sending a request on an idle
 * connection at the very moment the server closes it, and that request fails (ECONNRESET, "other
 * side closed"); fetch and most clients do not retry a POST. That race failed POSTs during
 * `pm2 reload http-receiver`, when idle connections were closed 1.5 s into the shutdown (issue 12).
 * Instead each open connection ends in a way the client expects:
 *   - its next request is answered with `Connection: close` (receiver-app, while shutting down),
 *     and Node closes it after that response;
 *   - or it stays idle until the client drops it, or until the keep-alive timeout the server
 *     announced has passed, when Node closes it (see `listen`).
 * So this takes at most the keep-alive timeout + 1 s plus the slowest request in progress. Whatever
 * is still open after `drainMs` (a request stuck, a client that sent half a request) is closed then,
 * so the app's other resources still close within the shutdown deadline.
 *
 * Meanwhile PM2 has already started the replacement (cluster mode, `wait_ready`: the new worker
 * said `ready` before this one got SIGINT), so new connections go to it: once this worker's server
 * is closed, Node's cluster primary sends it none, and one handed over in that instant is given
 * back and goes to another worker.
 */
export function closeServer(server: HttpServer, drainMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const bound = setTimeout(() => server.closeAllConnections(), drainMs);
    // net.Server's close, not http.Server's: since Node 19 the latter also closes every idle
    // keep-alive connection at once, which is the race described above
    Server.prototype.close.call(server, (err?: Error) => {
      clearTimeout(bound);
      if (err) reject(err);
      else resolve();
    });
  });
}
