import { BlockList, isIP } from 'node:net';

/*
 * Where webhooks may go (SPEC §8): http and https only, and never to loopback, private, link-local,
 * unique-local or otherwise non-public addresses unless LINEBACKER_WEBHOOK_ALLOW_PRIVATE=true
 * (development, tests). The url is checked when an endpoint is created (its literal address, or
 * every address its name resolves to) and again by the notifier at every connection, on the
 * address it then connects to (a name may resolve elsewhere later: DNS rebinding).
 */

/** Longest url accepted. */
export const WEBHOOK_URL_MAX_LENGTH = 2048;

/** How a name resolves (dns.promises.lookup with `all: true`, or a stand-in). */
export type AddressLookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

/** The url as an endpoint url, or why it is not one (a message for the `url` field). */
export function parseWebhookUrl(text: string): { ok: true; url: URL } | { ok: false; message: string } {
  if (text.length > WEBHOOK_URL_MAX_LENGTH) return { ok: false, message: `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters` };
  if (!URL.canParse(text)) return { ok: false, message: 'must be an absolute http or https url' };
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, message: 'must be an http or https url' };
  if (url.username || url.password) return { ok: false, message: 'must not contain a user name or password (deliveries are signed instead)' };
  if (!url.hostname) return { ok: false, message: 'must name a host' };
  return { ok: true, url };
}

const NON_PUBLIC: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'a "this network" address'],
  ['10.0.0.0', 8, 'ipv4', 'a private address'],
  ['100.64.0.0', 10, 'ipv4', 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'ipv4', 'a loopback address'],
  ['169.254.0.0', 16, 'ipv4', 'a link-local address'],
  ['172.16.0.0', 12, 'ipv4', 'a private address'],
  ['192.0.0.0', 24, 'ipv4', 'a reserved address'],
  ['192.0.2.0', 24, 'ipv4', 'a documentation address'],
  ['192.168.0.0', 16, 'ipv4', 'a private address'],
  ['198.18.0.0', 15, 'ipv4', 'a benchmarking address'],
  ['198.51.100.0', 24, 'ipv4', 'a documentation address'],
  ['203.0.113.0', 24, 'ipv4', 'a documentation address'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast address'],
  ['240.0.0.0', 4, 'ipv4', 'a reserved address'],
  ['::', 128, 'ipv6', 'the unspecified address'],
  ['::1', 128, 'ipv6', 'a loopback address'],
  ['::', 96, 'ipv6', 'an IPv4-compatible address (deprecated)'],
  ['100::', 64, 'ipv6', 'a discard address'],
  ['2001:db8::', 32, 'ipv6', 'a documentation address'],
  ['fc00::', 7, 'ipv6', 'a unique-local address'],
  ['fe80::', 10, 'ipv6', 'a link-local address'],
  ['fec0::', 10, 'ipv6', 'a site-local address'],
  ['ff00::', 8, 'ipv6', 'a multicast address'],
];

const ranges = NON_PUBLIC.map(([network, prefix, family, kind]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, family, kind };
});

/** The IPv4 address inside an IPv4-mapped, IPv4-compatible-style NAT64 or 6to4 IPv6 address, if any. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return [high >> 8, high & 255, low >> 8, low & 255].join('.');
  }
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour) {
    const [high, low] = [parseInt(sixToFour[1]!, 16), parseInt(sixToFour[2]!, 16)];
    return [high >> 8, high & 255, low >> 8, low & 255].join('.');
  }
  return undefined;
}

/** What kind of non-public address `address` is (an IP literal), or undefined for a public one. */
export function nonPublicAddress(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const inner = embeddedIpv4(bare);
    if (inner) return nonPublicAddress(inner);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return ranges.find((range) => range.family === type && range.list.check(bare, type))?.kind;
}

/**
 * Why webhooks may not go to `url`'s host, or undefined when they may: its literal address, or
 * every address its name resolves to now, must be public (unless `allowPrivate`). A name that does
 * not resolve is refused too (nothing could be delivered).
 */
export async function webhookDestinationProblem(url: URL, options: { allowPrivate: boolean; lookup: AddressLookup }): Promise<string | undefined> {
  if (options.allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) {
    const kind = nonPublicAddress(host);
    return kind ? `${host} is ${kind} (set LINEBACKER_WEBHOOK_ALLOW_PRIVATE=true to allow it)` : undefined;
  }
  let addresses: { address: string }[];
  try {
    addresses = await options.lookup(host);
  } catch {
    return `${host} does not resolve`;
  }
  if (addresses.length === 0) return `${host} does not resolve`;
  for (const { address } of addresses) {
    const kind = nonPublicAddress(address);
    if (kind) return `${host} resolves to ${address}, ${kind} (set LINEBACKER_WEBHOOK_ALLOW_PRIVATE=true to allow it)`;
  }
  return undefined;
}
