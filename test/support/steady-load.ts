import { setTimeout as sleep } from 'node:timers/promises';

/** One POST of a steady load, as the client saw it. */
export interface Attempt {
  n: number;
  backupJobId: string;
  /** ms since the epoch */
  start: number;
  end: number;
  status?: number;
  /** a network error instead of an answer */
  error?: string;
  /** the request's id, for a 202 or 200 */
  id?: string;
}

export interface SteadyLoad {
  attempts: Attempt[];
  /** Stops sending and resolves once every POST made has been answered (or failed). */
  stop(): Promise<Attempt[]>;
}

/**
 * A smooth open-loop load (requests evenly spaced in time, whether or not earlier ones have been
 * answered, as independent clients would send them): POST /api/v1/backup-requests at
 * `ratePerSecond`, the backup job of request n being `jobMix[n % jobMix.length]`.
 */
export function startSteadyLoad(options: { url: string; apiKey: string; ratePerSecond: number; jobMix: readonly string[]; tag: string }): SteadyLoad {
  const attempts: Attempt[] = [];
  const inFlight = new Set<Promise<void>>();
  let sending = true;

  const postOne = async (n: number): Promise<void> => {
    const backupJobId = options.jobMix[n % options.jobMix.length]!;
    const attempt: Attempt = { n, backupJobId, start: Date.now(), end: 0 };
    try {
      const response = await fetch(`${options.url}/api/v1/backup-requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ backupJobId, dataDate: new Date().toISOString().slice(0, 10), backupDataLocation: `/data/${options.tag}/${n}` }),
        signal: AbortSignal.timeout(30_000),
      });
      attempt.status = response.status;
      const text = await response.text();
      if (response.status === 202 || response.status === 200) attempt.id = (JSON.parse(text) as { backupRequestId: string }).backupRequestId;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      attempt.error = cause?.code ?? cause?.message ?? (err as Error).name;
    }
    attempt.end = Date.now();
    attempts.push(attempt);
  };

  const loop = (async () => {
    const started = Date.now();
    for (let n = 0; sending; n += 1) {
      const due = started + (n * 1000) / options.ratePerSecond;
      await sleep(Math.max(0, due - Date.now()));
      if (!sending) break;
      const posted = postOne(n);
      inFlight.add(posted);
      void posted.finally(() => inFlight.delete(posted));
    }
  })();

  return {
    attempts,
    async stop() {
      sending = false;
      await loop;
      await Promise.all([...inFlight]);
      return attempts;
    },
  };
}
