import type { Redis } from 'ioredis';

/**
 * BullMQ needs `maxmemory-policy noeviction`: any other policy lets Redis silently delete jobs under
 * memory pressure. Returns the problem to warn about, or undefined when all is well (or Redis
 * cannot tell, e.g. CONFIG is disabled on a managed Redis).
 */
export async function evictionPolicyProblem(redis: Redis): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    if (policy && policy !== 'noeviction') {
      return `Redis maxmemory-policy is "${policy}": BullMQ jobs can be evicted and requests stranded; set it to "noeviction"`;
    }
  } catch {
    // CONFIG not allowed or Redis down: nothing we can check now
  }
  return undefined;
}
