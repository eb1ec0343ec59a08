import type { RedisClient } from './redis-connection.js';
import { z } from 'zod';

/*
 * The instance registry of SPEC §9: every app instance, on every host, announces itself in Redis
 * (instance-heartbeat.ts) with one small key that expires after 3 missed beats, plus a member of
 * one sorted set that indexes those keys, so that reading the registry never scans the keyspace
 * (no KEYS, no SCAN): one ZRANGE of the index, then one MGET and a PTTL per instance, pipelined.
 *
 * Keys (all under the queue prefix, so two pipelines on one Redis never see each other):
 *   <prefix>:linebacker:{instances}                        sorted set: member <host>:<app>:<pid>, score = when its key expires (ms)
 *   <prefix>:linebacker:{instances}:<host>:<app>:<pid>     JSON InstanceRecord, PX = 3 beats
 * The `{instances}` hash tag keeps them in one slot of a Redis Cluster, where a pipeline or an
 * MGET must not span slots; a queue prefix with a hash tag of its own decides instead (Redis hashes
 * the first `{…}` of a key), which puts them in one slot just the same.
 */

const REGISTRY = 'linebacker:{instances}';

/** How many beats an instance may miss before it counts as gone (its key expires). */
export const MISSED_BEATS_UNTIL_GONE = 3;

/**
 * Index members whose key expired more than this long ago are removed by readers. The slack
 * leaves room for the clocks of other hosts (the score is the writer's clock); a live instance
 * removed by mistake is added again by its next beat anyway.
 */
const INDEX_SLACK_MS = 60_000;

export const instanceIndexKey = (prefix: string): string => `${prefix}:${REGISTRY}`;
export const instanceKey = (prefix: string, id: string): string => `${prefix}:${REGISTRY}:${id}`;

const count = z.int().min(0);

/** What one instance writes about itself at every beat. */
export const instanceRecordSchema = z.object({
  host: z.string().meta({ description: 'LINEBACKER_HOST_NAME of its host (default: the host name)' }),
  app: z.string().meta({ description: 'PM2 app name' }),
  pid: z.int().positive(),
  version: z.string().meta({ description: "linebacker's version (package.json)" }),
  startedAt: z.iso.datetime().meta({ description: 'when the process started' }),
  lastSeenAt: z.iso.datetime().meta({ description: 'its latest heartbeat' }),
  memoryBytes: count.meta({ description: 'resident set size' }),
  cpuPercent: z.number().min(0).meta({ description: 'CPU used since its previous heartbeat (100 = one core)' }),
  activeJobs: count.meta({
    description:
      'work in progress: jobs being handled (workers), HTTP requests being answered (http-receiver), ' +
      'receives of reply batches in progress (external-queue-receiver); 0 for the interface simulator',
  }),
  heartbeatMs: z.int().positive().meta({ description: 'its LINEBACKER_HEARTBEAT_MS' }),
});
export type InstanceRecord = z.infer<typeof instanceRecordSchema>;

/** An instance as read from the registry: its record and when it counts as gone unless it beats again. */
export const liveInstanceSchema = instanceRecordSchema
  .extend({
    expiresAt: z.iso.datetime().meta({
      description: `when it counts as gone unless it beats again (${MISSED_BEATS_UNTIL_GONE} missed heartbeats after the latest)`,
    }),
  })
  .meta({ id: 'Instance' });
export type LiveInstance = z.infer<typeof liveInstanceSchema>;

export const instanceId = ({ host, app, pid }: Pick<InstanceRecord, 'host' | 'app' | 'pid'>): string => `${host}:${app}:${pid}`;

/** One beat: the record, for 3 beats, and its index entry, in one pipelined round trip. */
export async function writeInstance(redis: RedisClient, prefix: string, record: InstanceRecord): Promise<void> {
  const id = instanceId(record);
  const ttlMs = MISSED_BEATS_UNTIL_GONE * record.heartbeatMs;
  const results = await redis
    .pipeline()
    .set(instanceKey(prefix, id), JSON.stringify(record), 'PX', ttlMs)
    .zadd(instanceIndexKey(prefix), Date.now() + ttlMs, id)
    .exec();
  const failed = results?.find(([err]) => err)?.[0];
  if (failed) throw failed;
}

/** Leaves the registry at once (graceful shutdown). */
export async function removeInstance(redis: RedisClient, prefix: string, record: Pick<InstanceRecord, 'host' | 'app' | 'pid'>): Promise<void> {
  const id = instanceId(record);
  await redis.pipeline().del(instanceKey(prefix, id)).zrem(instanceIndexKey(prefix), id).exec();
}

/**
 * Every live instance of every host, in host, app, pid order: two pipelined round trips whatever
 * the size of the keyspace. `expiresAt` is on this reader's clock (now + the key's remaining
 * time), so deciding later whether an instance is still live does not depend on the clocks of
 * the hosts that wrote them.
 */
export async function readInstances(redis: RedisClient, prefix: string): Promise<LiveInstance[]> {
  const index = instanceIndexKey(prefix);
  const listed = await redis
    .pipeline()
    .zremrangebyscore(index, '-inf', Date.now() - INDEX_SLACK_MS)
    .zrange(index, 0, -1)
    .exec();
  const failedListing = listed?.find(([err]) => err)?.[0];
  if (failedListing) throw failedListing;
  const ids = (listed?.[1]?.[1] ?? []) as string[];
  if (ids.length === 0) return [];

  const keys = ids.map((id) => instanceKey(prefix, id));
  const read = redis.pipeline().mget(...keys);
  for (const key of keys) read.pttl(key);
  const readAt = Date.now();
  const results = (await read.exec()) ?? [];
  const failed = results.find(([err]) => err)?.[0];
  if (failed) throw failed;
  const texts = results[0]?.[1] as (string | null)[];

  const instances: LiveInstance[] = [];
  for (const [i, text] of texts.entries()) {
    const ttlMs = results[i + 1]?.[1] as number;
    if (text === null || ttlMs <= 0) continue; // expired between the two reads
    const parsed = instanceRecordSchema.safeParse(safeJson(text));
    // a record this version cannot read (another version's writer) is left out, not fatal
    if (!parsed.success) continue;
    instances.push({ ...parsed.data, expiresAt: new Date(readAt + ttlMs).toISOString() });
  }
  return instances.sort((a, b) => a.host.localeCompare(b.host) || a.app.localeCompare(b.app) || a.pid - b.pid);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
