import type { Response } from 'express';

/** The client has not read what was written to it in time. */
export class ClientNotReadingError extends Error {}

/**
 * One Server-Sent Events response (text/event-stream, WHATWG HTML §9.2). Writes never wait: what
 * the client has not read yet stays in the socket's buffers, and `bufferedBytes` says how much of
 * it Node holds (beyond the kernel's own buffers). The caller decides when that is too much.
 */
export class SseStream {
  private closed = false;

  constructor(private readonly res: Response) {}

  /** Sends the headers at once: the client learns the stream is open before any event. */
  open(retryMs: number): void {
    this.res.status(200);
    this.res.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      // nginx and other proxies: pass each event on at once
      'X-Accel-Buffering': 'no',
    });
    this.res.flushHeaders();
    // small writes go out at once rather than waiting for more (Nagle)
    this.res.socket?.setNoDelay(true);
    this.write(`retry: ${retryMs}\n\n`);
  }

  /** An event: `id`, `event` and the JSON as `data` (one line: JSON.stringify never writes a newline). */
  event(id: string, type: string, json: string): void {
    this.write(`id: ${id}\nevent: ${type}\ndata: ${json}\n\n`);
  }

  /** A message with only an id: the client's Last-Event-ID moves on, no event is dispatched. */
  position(id: string): void {
    this.write(`id: ${id}\n\n`);
  }

  /**
   * A comment line, which clients ignore: keeps proxies from closing an idle stream. With
   * `positionId`, the block also moves the client's Last-Event-ID on (no event is dispatched).
   */
  heartbeat(positionId?: string): void {
    this.write(positionId === undefined ? ': heartbeat\n\n' : `: heartbeat\nid: ${positionId}\n\n`);
  }

  /** Bytes written that the socket has not handed to the kernel yet (the response's and its socket's). */
  get bufferedBytes(): number {
    return this.res.writableLength;
  }

  /**
   * Resolves once no more than `maxBytes` wait to be sent; rejects when the client has not read
   * them within `timeoutMs`, or went away.
   */
  async drained(maxBytes: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.bufferedBytes > maxBytes) {
      if (this.isClosed) throw new Error('the client went away');
      const left = deadline - Date.now();
      if (left <= 0) throw new ClientNotReadingError(`the client did not read ${this.bufferedBytes} bytes within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.res.off('drain', done);
          this.res.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.res.once('drain', done);
        this.res.once('close', done);
      });
    }
  }

  get isClosed(): boolean {
    return this.closed || this.res.destroyed || this.res.writableEnded;
  }

  /** Ends the response normally (the client may reconnect and resume). */
  end(): void {
    if (this.isClosed) return;
    this.closed = true;
    this.res.end();
  }

  /** Drops the connection and whatever it still buffers: for a client that does not read. */
  destroy(): void {
    this.closed = true;
    this.res.destroy();
  }

  private write(text: string): void {
    if (!this.isClosed) this.res.write(text);
  }
}
