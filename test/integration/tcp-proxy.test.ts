import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/** Connects to 127.0.0.1:port, resolving once connected or rejecting with the socket error. */
async function open(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** Writes `text` and resolves with the first chunk the peer sends back. */
async function roundTrip(socket: Socket, text: string): Promise<string> {
  const reply = once(socket, 'data');
  socket.write(text);
  const [chunk] = (await reply) as [Buffer];
  return chunk.toString('utf8');
}

describe('tcp proxy', () => {
  let echo: Server;
  let proxy: TcpProxy;

  beforeAll(async () => {
    echo = createServer((socket) => {
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const address = echo.address();
    if (address === null || typeof address === 'string') throw new Error('echo server has no port');
    proxy = await startTcpProxy({ host: '127.0.0.1', port: address.port });
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  it('passes bytes through, fails like a stopped server after cut, and works again after restore', async () => {
    const before = await open(proxy.port);
    expect(await roundTrip(before, 'ping')).toBe('ping');

    // (events.once would reject on the 'error' event, so listen by hand)
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));
    const failure = new Promise<NodeJS.ErrnoException>((resolve) => before.once('error', resolve));
    await proxy.cut();

    // the open connection is reset, a new one is refused
    expect((await failure).code).toBe('ECONNRESET');
    await closed;
    await expect(open(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await proxy.restore();
    const after = await open(proxy.port);
    expect(await roundTrip(after, 'pong')).toBe('pong');
    after.destroy();
  });
});
