import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis-connection.js';

/** `maxmemory-policy` of one server, or undefined when it cannot tell (CONFIG disabled, down). */
async function policyOf(server: Redis): Promise<string | undefined> {
  try {
    const reply = (await server.config('GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } catch {
    return undefined;
  }
}

/**
 * BullMQ needs `maxmemory-policy noeviction`: any other policy lets Redis silently delete jobs under
 * memory pressure. Returns the problem to warn about, or undefined when all is well (or Redis
 * cannot tell, e.g. CONFIG is disabled on a managed Redis). On a cluster every node is asked, since
 * any of them may hold (or, as a replica, come to hold) linebacker's keys; through Sentinel, the
 * primary in use (its replicas must be set the same way: README "Redis high availability").
 */
export async function evictionPolicyProblem(redis: RedisClient): Promise<string | undefined> {
  const servers = redis instanceof Cluster ? redis.nodes('all') : [redis];
  const policies = await Promise.all(servers.map(async (server) => ({ server, policy: await policyOf(server) })));
  const evicting = policies.filter(({ policy }) => policy !== undefined && policy !== 'noeviction');
  if (evicting.length === 0) return undefined;
  const where = (server: Redis) => (redis instanceof Cluster ? ` on ${server.options.host}:${server.options.port}` : '');
  const found = evicting.map(({ server, policy }) => `"${policy}"${where(server)}`).join(', ');
  return `Redis maxmemory-policy is ${found}: BullMQ jobs can be evicted and requests stranded; set it to "noeviction"`;
}
