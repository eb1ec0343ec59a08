import { Agent, request } from 'node:http';

export interface OfferedLoadResult {
  /** Requests per second offered (null: closed loop). */
  offered: number | null;
  durationS: number;
  sent: number;
  /** 2xx answers. */
  accepted: number;
  /** Answers by status code other than 2xx (e.g. 503 from admission control, 429). */
  refused: Record<string, number>;
  /** Connection errors and requests never sent because `maxOutstanding` were already open. */
  errors: number;
  acceptMs: { p50: number; p99: number };
}

let sequence = 0;

/** A body that is never a duplicate of another (SPEC §2.3). */
function body(backupJobId: string): string {
  const dataDate = new Date().toISOString().slice(0, 10);
  return JSON.stringify({ backupJobId, dataDate, backupDataLocation: `/bench/${process.pid}/${Date.now()}/${sequence++}` });
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);

interface Target {
  url: string;
  token?: string;
  backupJobId: string;
}

/** One POST; resolves with its status code (0 for a connection error) and latency. */
function post(agent: Agent, target: Target): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const payload = body(target.backupJobId);
  return new Promise((resolve) => {
    const req = request(
      `${target.url}/api/v1/backup-requests`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    req.end(payload);
  });
}

/** Collects the answers of a load run. */
function tally(offered: number | null, durationS: number) {
  const latencies: number[] = [];
  const result: OfferedLoadResult = { offered, durationS, sent: 0, accepted: 0, refused: {}, errors: 0, acceptMs: { p50: 0, p99: 0 } };
  return {
    result,
    record: ({ status, ms }: { status: number; ms: number }) => {
      if (status === 0) result.errors++;
      else if (status < 300) {
        result.accepted++;
        latencies.push(ms);
      } else result.refused[status] = (result.refused[status] ?? 0) + 1;
    },
    finish: () => {
      latencies.sort((a, b) => a - b);
      result.acceptMs = { p50: Math.round(percentile(latencies, 0.5) * 10) / 10, p99: Math.round(percentile(latencies, 0.99) * 10) / 10 };
      return result;
    },
  };
}

/**
 * A smooth open-loop load: request i is sent at start + i / ratePerSecond, evenly spaced, whether
 * or not earlier ones were answered (as independent backup clients would), up to `maxOutstanding`
 * open at once (beyond that a request counts as an error, not sent). Not autocannon: its
 * `overallRate` sends each second's requests in a burst at the start of the second.
 */
export async function offerLoad(target: Target & { ratePerSecond: number; durationS: number; maxOutstanding?: number }): Promise<OfferedLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: target.maxOutstanding ?? 512 });
  const { result, record, finish } = tally(target.ratePerSecond, target.durationS);
  const open = new Set<Promise<void>>();
  const started = performance.now();
  const total = Math.round(target.ratePerSecond * target.durationS);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / target.ratePerSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    result.sent++;
    if (open.size >= (target.maxOutstanding ?? 512)) {
      result.errors++;
      continue;
    }
    const answered = post(agent, target).then(record);
    const tracked = answered.finally(() => open.delete(tracked));
    open.add(tracked);
  }
  await Promise.all(open);
  agent.destroy();
  return finish();
}

/** A closed loop: `connections` clients, each sending its next request when the previous is answered. */
export async function closedLoop(target: Target & { connections: number; durationS: number }): Promise<OfferedLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: target.connections });
  const { result, record, finish } = tally(null, target.durationS);
  const end = performance.now() + target.durationS * 1000;
  const client = async () => {
    while (performance.now() < end) {
      result.sent++;
      const answer = await post(agent, target);
      record(answer);
      // a refused request is retried after a pause, as a client honouring Retry-After would (1 s here)
      if (answer.status === 0 || answer.status >= 300) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  await Promise.all(Array.from({ length: target.connections }, client));
  agent.destroy();
  return finish();
}
