import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A webhook receiver for tests: a real HTTP server on loopback that records every delivery attempt
 * and answers as told, and this test suite's own implementation of the Standard Webhooks
 * verification (deliberately not the app's code).
 */

export interface ReceivedWebhook {
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The body parsed (a StatusEvent). */
  event: Record<string, unknown> & { eventId: string; backupRequestId: string; requesterId: string; status: string; at: string };
  /** Attempts with this webhook-id on this path so far, this one included. */
  attempt: number;
  receivedAt: number;
  /** The status answered ('hang': none). */
  answered: number | 'hang';
}

/** What to answer an attempt: a status code (at once, or after `afterMs`), or never answer. */
export type Behaviour = (hook: Omit<ReceivedWebhook, 'answered'>) => number | 'hang' | { status: number; afterMs: number };

export interface WebhookReceiver {
  url: string;
  port: number;
  /** Every attempt received, in arrival order. */
  received: ReceivedWebhook[];
  /** Requests in progress right now, and the most ever at once, per path. */
  inFlight: Map<string, { now: number; most: number }>;
  behaviour: Behaviour;
  close(): Promise<void>;
}

/**
 * Starts a receiver on 127.0.0.1 (`port` 0: a free one). `behaviour` answers each attempt (default:
 * 200); it can be changed later through the returned object.
 */
export async function startWebhookReceiver(options: { port?: number; behaviour?: Behaviour } = {}): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const inFlight = new Map<string, { now: number; most: number }>();
  const attempts = new Map<string, number>();
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    received,
    inFlight,
    behaviour: options.behaviour ?? (() => 200),
    close: () => Promise.resolve(),
  };
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const counter = inFlight.get(path) ?? { now: 0, most: 0 };
    inFlight.set(path, counter);
    counter.now += 1;
    counter.most = Math.max(counter.most, counter.now);
    res.on('close', () => (counter.now -= 1));
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const id = header(req.headers, 'webhook-id');
      const key = `${path} ${id}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      let event: ReceivedWebhook['event'];
      try {
        event = JSON.parse(body) as ReceivedWebhook['event'];
      } catch {
        event = { eventId: '', backupRequestId: '', requesterId: '', status: '', at: '' };
      }
      const hook = {
        path,
        id,
        timestamp: header(req.headers, 'webhook-timestamp'),
        signature: header(req.headers, 'webhook-signature'),
        body,
        event,
        attempt,
        receivedAt: Date.now(),
      };
      const behaviour = receiver.behaviour(hook);
      if (behaviour === 'hang') {
        received.push({ ...hook, answered: 'hang' }); // never answered: the notifier's timeout must end it
        return;
      }
      const { status, afterMs } = typeof behaviour === 'number' ? { status: behaviour, afterMs: 0 } : behaviour;
      const answer = () => {
        // recorded once answered (a caller that went away meanwhile got no answer)
        if (res.destroyed || req.socket.destroyed) return received.push({ ...hook, answered: 'hang' });
        received.push({ ...hook, answered: status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'thanks' : 'no');
      };
      if (afterMs > 0) setTimeout(answer, afterMs);
      else answer();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  receiver.port = port;
  receiver.url = `http://127.0.0.1:${port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/**
 * The Standard Webhooks verification, written from the specification: the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, the key is the base64-decoded part of the secret
 * after `whsec_`, the signature header is a space-separated list of `v1,<base64 HMAC-SHA256>`, and
 * a timestamp more than `toleranceS` away from now is refused (replay protection).
 */
export function verifyStandardWebhook(secret: string, hook: Pick<ReceivedWebhook, 'id' | 'timestamp' | 'signature' | 'body'>, toleranceS = 300): boolean {
  if (!hook.id || !/^\d+$/.test(hook.timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(hook.timestamp)) > toleranceS) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${hook.id}.${hook.timestamp}.${hook.body}`).digest();
  return hook.signature.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
