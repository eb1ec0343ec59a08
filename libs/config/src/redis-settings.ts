import { redactUrl } from './redact-url.js';

/** A Redis server or Sentinel as `host:port`; IPv6 hosts in brackets (`[::1]:26379`). */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * How linebacker reaches Redis (SPEC §9): one server (`REDIS_URL`), the primary that Redis Sentinel
 * names, or a Redis Cluster. Exactly one of them; libs/queues redis-connection.ts turns it into an
 * ioredis client.
 */
export type RedisTopology =
  /** `url` carries no credentials: they are in `RedisConfig`. */
  | { kind: 'standalone'; url: string }
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string; sentinelPassword?: string }
  | { kind: 'cluster'; nodes: HostPort[] };

export interface RedisConfig {
  topology: RedisTopology;
  /** From REDIS_USERNAME / REDIS_PASSWORD, else from REDIS_URL; used in every topology. */
  username?: string;
  password?: string;
  /** The database number of REDIS_URL (always 0 on a cluster). */
  db: number;
  /** `rediss://`: TLS to the Redis servers (not to the Sentinels). */
  tls: boolean;
  /**
   * The BullMQ prefix, and the first part of every other key linebacker writes. On a cluster it is
   * `{LINEBACKER_QUEUE_PREFIX}`: a hash tag, so every key of linebacker is in one slot (README
   * "Redis high availability").
   */
  queuePrefix: string;
  /** Where Redis is, for messages: never a credential. */
  location: string;
}

const HOST_PORT = String.raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}`;
/** `host:port,host:port`, for LINEBACKER_REDIS_SENTINELS and LINEBACKER_REDIS_CLUSTER_NODES. */
export const HOST_PORT_LIST = new RegExp(`^${HOST_PORT}(?:,${HOST_PORT})*$`);

export function parseHostPortList(list: string): HostPort[] {
  return list.split(',').map((entry) => {
    const at = entry.lastIndexOf(':');
    return { host: entry.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(entry.slice(at + 1)) };
  });
}

/** Query parameters of REDIS_URL that ioredis reads as credentials. */
const CREDENTIAL_PARAMETERS = ['username', 'password'] as const;

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** REDIS_URL taken apart: the URL without credentials, the credentials, database and TLS. */
export function splitRedisUrl(url: string): { url: string; username?: string; password?: string; db: number; tls: boolean } {
  const parsed = new URL(url);
  const fromUrl = {
    username: decoded(parsed.username) || parsed.searchParams.get('username') || undefined,
    password: decoded(parsed.password) || parsed.searchParams.get('password') || undefined,
  };
  parsed.username = '';
  parsed.password = '';
  for (const name of CREDENTIAL_PARAMETERS) parsed.searchParams.delete(name);
  const path = parsed.pathname.replace(/^\//, '');
  return { url: parsed.toString(), ...fromUrl, db: path === '' ? 0 : Number(path), tls: parsed.protocol === 'rediss:' };
}

/** The database part of a REDIS_URL (`/2`), if it is not a database number. */
export function redisUrlProblem(url: string): string | undefined {
  if (!URL.canParse(url)) return 'must be a URL';
  const path = new URL(url).pathname;
  return /^\/?(?:[0-9]{1,2})?$/.test(path) ? undefined : `"${path}" is not a database number`;
}

export interface RedisEnv {
  url: string;
  username?: string;
  password?: string;
  sentinels?: string;
  sentinelName: string;
  sentinelPassword?: string;
  clusterNodes?: string;
  queuePrefix: string;
}

const listed = (nodes: HostPort[]) => nodes.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');

/** The Redis settings as the connection factory takes them (the environment is already valid). */
export function redisConfig(env: RedisEnv): RedisConfig {
  const fromUrl = splitRedisUrl(env.url);
  // (an empty username in a URL, `redis://:pw@…`, means the default user)
  const credentials = { username: env.username ?? fromUrl.username, password: env.password ?? fromUrl.password };
  const common = { ...credentials, db: fromUrl.db, tls: fromUrl.tls };
  if (env.sentinels !== undefined) {
    const sentinels = parseHostPortList(env.sentinels);
    return {
      topology: { kind: 'sentinel', sentinels, name: env.sentinelName, sentinelPassword: env.sentinelPassword },
      ...common,
      queuePrefix: env.queuePrefix,
      location: `Redis Sentinel ${listed(sentinels)} (primary "${env.sentinelName}")`,
    };
  }
  if (env.clusterNodes !== undefined) {
    const nodes = parseHostPortList(env.clusterNodes);
    return {
      topology: { kind: 'cluster', nodes },
      ...common,
      db: 0,
      queuePrefix: `{${env.queuePrefix}}`,
      location: `Redis Cluster ${listed(nodes)}`,
    };
  }
  return { topology: { kind: 'standalone', url: fromUrl.url }, ...common, queuePrefix: env.queuePrefix, location: `Redis at ${redactUrl(env.url)}` };
}
