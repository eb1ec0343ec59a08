import { connect, type Socket } from 'node:net';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';

/** One Server-Sent Events message as a client sees it (WHATWG HTML §9.2 parsing, simplified). */
export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string | undefined;
  /** Comment lines (": ...") of the message block, without the colon. */
  comments: string[];
}

/** Splits event-stream text into message blocks; returns them and the unfinished rest. */
export function parseSse(text: string): { messages: SseMessage[]; rest: string } {
  const blocks = text.split('\n\n');
  const rest = blocks.pop() ?? '';
  const messages = blocks.map((block) => {
    const message: SseMessage = { id: undefined, event: undefined, data: undefined, comments: [] };
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) message.comments.push(line.slice(1).trim());
      else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
        else if (field === 'data') message.data = message.data === undefined ? value : `${message.data}\n${value}`;
      }
    }
    return message;
  });
  return { messages, rest };
}

/** A status event as the stream sends it (`data:`). */
export interface StreamedEvent {
  eventId: string;
  type: string;
  backupRequestId: string;
  requesterId: string;
  backupJobId: string;
  status: string;
  previousStatus: string | null;
  reason: string | null;
  at: string;
  traceId: string;
}

/** A client reading GET /api/v1/events as it arrives. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  status = 0;
  headers: IncomingMessage['headers'] = {};
  ended = false;
  private buffer = '';
  private req: ClientRequest | undefined;

  private constructor() {}

  /** Connects; resolves once the response headers arrived (any status: check `status`). */
  static open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    return new Promise((resolve, reject) => {
      client.req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        client.status = res.statusCode ?? 0;
        client.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.take(chunk));
        res.on('end', () => (client.ended = true));
        res.on('close', () => (client.ended = true));
        res.on('error', () => (client.ended = true));
        resolve(client);
      });
      client.req.on('error', (err) => (client.status === 0 ? reject(err) : (client.ended = true)));
      client.req.end();
    });
  }

  /** The status events received so far (messages with `event: status-changed`), parsed. */
  get events(): StreamedEvent[] {
    return this.messages.filter((m) => m.event === 'status-changed').map((m) => JSON.parse(m.data!) as StreamedEvent);
  }

  /** The last `id:` received (of an event or of an id-only message): what a browser would send as Last-Event-ID. */
  get lastEventId(): string | undefined {
    return this.messages.reduce<string | undefined>((last, m) => m.id ?? last, undefined);
  }

  /** The whole text of problem+json answers (status not 200). */
  get text(): string {
    return this.buffer;
  }

  close(): void {
    this.req?.destroy();
  }

  private take(chunk: string): void {
    if (this.status !== 200) {
      this.buffer += chunk;
      return;
    }
    const { messages, rest } = parseSse(this.buffer + chunk);
    this.messages.push(...messages);
    this.buffer = rest;
  }
}

/**
 * A client that sends GET /api/v1/events and never reads the answer: its socket is paused, so the
 * kernel's buffers fill and the server's writes pile up. `resume()` reads everything that reached
 * it and resolves with the text once the server has ended or dropped the connection.
 */
export function openNonReadingClient(url: string, headers: Record<string, string>): Promise<{ socket: Socket; resume: () => Promise<string> }> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const lines = [`GET ${pathname}${search} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Accept: text/event-stream'];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      socket.pause();
      resolve({
        socket,
        resume: () =>
          new Promise((done) => {
            let text = '';
            socket.setEncoding('utf8');
            socket.on('data', (chunk: string) => (text += chunk));
            socket.on('close', () => done(text));
            socket.on('error', () => undefined);
            socket.resume();
          }),
      });
    });
    socket.on('error', reject);
  });
}
