import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { nonPublicAddress } from '@linebacker/domain';

/** What one attempt got: a status code (any), or no answer and why. */
export type PostOutcome = { statusCode: number } | { statusCode: null; error: string };

/** At most this much of an answer's body is read (and thrown away). */
const MAX_ANSWER_BYTES = 64 * 1024;

const agents = {
  // keep-alive: a busy endpoint gets its deliveries on a few kept connections
  'http:': new HttpAgent({ keepAlive: true, maxFreeSockets: 4 }),
  'https:': new HttpsAgent({ keepAlive: true, maxFreeSockets: 4 }),
};

class RefusedAddressError extends Error {
  readonly code = 'EADDRREFUSED';
}

/**
 * A `lookup` for the HTTP agent that refuses non-public addresses (SPEC §8; unless
 * `allowPrivate`): the check is made on the addresses the connection then uses, so a name that
 * resolves to a public address when the endpoint is created and to a private one later (DNS
 * rebinding) is refused at delivery.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: LookupOneOptions | LookupAllOptions, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      const refused = allowPrivate ? undefined : addresses.find(({ address }) => nonPublicAddress(address));
      if (refused) {
        return callback(new RefusedAddressError(`${hostname} resolves to ${refused.address}, ${nonPublicAddress(refused.address)}: not allowed`));
      }
      if ((options as LookupAllOptions).all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}

/**
 * One delivery attempt: POST `body` with `headers` to `url`, following no redirect, until the
 * answer's status line arrives or `signal` aborts (the attempt's timeout, or the notifier shutting
 * down; its reason becomes the error). Never throws: any failure is an outcome without a status code.
 */
export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { allowPrivate: boolean; signal: AbortSignal },
): Promise<PostOutcome> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  // (a literal address is connected to without a lookup)
  const literal = isIP(host) !== 0 ? nonPublicAddress(host) : undefined;
  if (literal && !options.allowPrivate) return Promise.resolve({ statusCode: null, error: `${host} is ${literal}: not allowed` });
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const failed = (err: unknown) => {
      const reason = options.signal.aborted ? String(options.signal.reason instanceof Error ? options.signal.reason.message : options.signal.reason) : undefined;
      resolve({ statusCode: null, error: reason ?? (err instanceof Error ? err.message : String(err)) });
    };
    const request = send(
      target,
      {
        method: 'POST',
        agent: agents[target.protocol as 'http:' | 'https:'],
        lookup: guardedLookup(options.allowPrivate),
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'linebacker-webhooks/1' },
        signal: options.signal,
      },
      (answer: IncomingMessage) => {
        // the status decides; the body is read and dropped (so the connection can be kept)
        resolve({ statusCode: answer.statusCode ?? 0 });
        let read = 0;
        answer.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) answer.destroy();
        });
        answer.on('error', () => undefined);
      },
    );
    request.on('error', failed);
    request.end(body);
  });
}
