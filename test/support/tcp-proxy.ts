import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A TCP proxy on 127.0.0.1 for fault injection: point a client (pg, ioredis, an app) at
 * `127.0.0.1:<port>` instead of the real server, then `cut()` to make the server look stopped and
 * `restore()` to bring it back on the same port.
 */
export interface TcpProxy {
  /** The port the proxy listens on; it stays the same across cut() / restore(). */
  readonly port: number;
  /**
   * Stops listening (new connections get ECONNREFUSED) and resets every open connection (clients
   * see ECONNRESET), like a server that went away.
   */
  cut(): Promise<void>;
  /** Listens again on the same port; new connections reach the target again. */
  restore(): Promise<void>;
  /** cut() for good. */
  close(): Promise<void>;
}

export interface ProxyTarget {
  host: string;
  port: number;
}

const RELISTEN_ATTEMPTS = 20;
const RELISTEN_RETRY_MS = 50;

export async function startTcpProxy(target: ProxyTarget): Promise<TcpProxy> {
  /** accepted client socket → its connection to the target */
  const open = new Map<Socket, Socket>();
  let server: Server | undefined;
  let closed = false;

  const handle = (client: Socket): void => {
    const upstream = connect({ host: target.host, port: target.port });
    open.set(client, upstream);
    // whichever side fails or closes, the other side goes too
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => {
      open.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listen = async (port: number): Promise<number> => {
    const next = createServer(handle);
    const address = await new Promise<number>((resolve, reject) => {
      next.once('error', reject);
      next.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        next.off('error', reject);
        const bound = next.address();
        if (bound === null || typeof bound === 'string') reject(new Error('tcp proxy: no TCP address'));
        else resolve(bound.port);
      });
    });
    server = next;
    return address;
  };

  const cut = async (): Promise<void> => {
    const current = server;
    server = undefined;
    // stop accepting first, then reset what is open; close()'s callback waits for those to end
    const stopped = current
      ? new Promise<void>((resolve) => current.close(() => resolve()))
      : Promise.resolve();
    for (const [client, upstream] of open) {
      // the client sees a reset, the target just a client that went away
      if (!client.destroyed) client.resetAndDestroy();
      upstream.destroy();
    }
    open.clear();
    await stopped;
  };

  const port = await listen(0);

  return {
    port,
    cut,
    async restore() {
      if (closed) throw new Error('tcp proxy: restore() after close()');
      if (server) return;
      // the port was ours a moment ago; retry briefly in case the OS has not released it yet
      for (let attempt = 1; ; attempt += 1) {
        try {
          await listen(port);
          return;
        } catch (err) {
          if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt >= RELISTEN_ATTEMPTS) throw err;
          await sleep(RELISTEN_RETRY_MS);
        }
      }
    },
    async close() {
      closed = true;
      await cut();
    },
  };
}
