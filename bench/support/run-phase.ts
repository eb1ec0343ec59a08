import { completion, completionsOverTime, finishedRequests, openRequests, type Completion } from './figures.js';
import { closedLoop, offerLoad, type OfferedLoadResult } from './offered-load.js';
import { cpuSpent, readCpu, type CpuReading } from './process-cpu.js';
import { BACKUP_JOB, type BenchSystem } from './systems.js';

/** What a run offers: a smooth fixed rate, or a closed loop of `connections` clients. */
export type Load = { ratePerSecond: number; durationS: number } | { connections: number; durationS: number };

export interface DepthSample {
  /** Seconds since the load began. */
  t: number;
  depths: Record<string, number>;
}

export interface PhaseResult {
  system: BenchSystem['name'];
  /** One result per load, in the order they were offered. */
  loads: OfferedLoadResult[];
  /**
   * Over the measured window of the last load: its last two thirds by default (the first third of
   * a cold start is its warm-up), or `window` seconds from that load's start.
   */
  completion: Completion;
  /** Completions per second in 5-second buckets from the start of the first load. */
  completionsPerSecond: number[];
  /** Whether every accepted request reached the end within the drain time after the load. */
  drained: boolean;
  drainS: number;
  /** CPU ms per finished request by process group, and `total`, from the start of the load until drained. */
  cpuMsPerRequest: Record<string, number>;
  /**
   * The same over the measured window only (the steady state, without the cold start and the
   * drain): CPU used in the window per request finished in it. Null when the window is not inside
   * the last load.
   */
  steadyCpuMsPerRequest: Record<string, number> | null;
  maxDepths: Record<string, number>;
  samples: DepthSample[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round2 = (n: number) => Math.round(n * 100) / 100;

/** What a CPU-per-request figure is computed from: every process of the system, and requests finished so far. */
interface CpuPoint {
  groups: Record<string, number[]>;
  cpu: CpuReading;
  finished: number;
}

async function cpuPoint(system: BenchSystem): Promise<CpuPoint> {
  const groups = await system.processGroups();
  return { groups, cpu: await readCpu(Object.values(groups).flat()), finished: await finishedRequests(system.db, system.table) };
}

/** CPU ms per request finished between two points, by process group (largest first), and `total`. */
function cpuPerRequest(before: CpuPoint, after: CpuPoint): Record<string, number> {
  const finished = Math.max(1, after.finished - before.finished);
  const perGroup = Object.entries(after.groups)
    .map(([name, pids]) => [name, round2((cpuSpent(before.cpu, after.cpu, pids) * 1000) / finished)] as const)
    .sort((a, b) => b[1] - a[1]);
  return { ...Object.fromEntries(perGroup), total: round2(perGroup.reduce((sum, [, ms]) => sum + ms, 0)) };
}

/**
 * Offers `loads` one after the other to a started system, then waits for it to drain (at most
 * `drainTimeoutS`), reading queue depths every second meanwhile.
 */
export async function runPhase(
  system: BenchSystem,
  loads: Load[],
  options: { drainTimeoutS?: number; window?: [fromS: number, toS: number] } = {},
): Promise<PhaseResult> {
  const drainTimeoutS = options.drainTimeoutS ?? 120;
  const before = await cpuPoint(system);
  const started = Date.now();

  const samples: DepthSample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const depths = await system.depths().catch(() => ({}));
      samples.push({ t: Math.round((Date.now() - started) / 100) / 10, depths });
      await sleep(1000);
    }
  })();

  const target = { url: system.url, token: system.token, backupJobId: BACKUP_JOB };
  const results: OfferedLoadResult[] = [];
  const last = loads.at(-1)!;
  const [fromS, toS] = options.window ?? [last.durationS / 3, last.durationS];
  let lastStarted = started;
  let steady: Promise<[CpuPoint, CpuPoint] | undefined> | undefined;
  for (const load of loads) {
    lastStarted = Date.now();
    if (load === last && toS <= last.durationS) {
      steady = (async () => {
        await sleep(fromS * 1000);
        const from = await cpuPoint(system);
        await sleep(lastStarted + toS * 1000 - Date.now());
        return [from, await cpuPoint(system)] as [CpuPoint, CpuPoint];
      })().catch(() => undefined); // no steady figure rather than a failed run
    }
    results.push('ratePerSecond' in load ? await offerLoad({ ...target, ...load }) : await closedLoop({ ...target, ...load }));
  }
  const loadEnded = Date.now();
  let open = await openRequests(system.db, system.table);
  while (open > 0 && Date.now() - loadEnded < drainTimeoutS * 1000) {
    await sleep(500);
    open = await openRequests(system.db, system.table);
  }
  const drainS = Math.round((Date.now() - loadEnded) / 100) / 10;
  sampling = false;
  await sampler;

  const after = await cpuPoint(system);
  const window = steady ? await steady : undefined;
  const from = new Date(lastStarted + fromS * 1000);
  const to = new Date(lastStarted + toS * 1000);
  const maxDepths: Record<string, number> = {};
  for (const sample of samples) {
    for (const [queue, depth] of Object.entries(sample.depths)) maxDepths[queue] = Math.max(maxDepths[queue] ?? 0, depth);
  }
  return {
    system: system.name,
    loads: results,
    completion: await completion(system.db, system.table, from, to),
    completionsPerSecond: await completionsOverTime(system.db, system.table, new Date(started), 5),
    drained: open === 0,
    drainS,
    cpuMsPerRequest: cpuPerRequest(before, after),
    steadyCpuMsPerRequest: window ? cpuPerRequest(...window) : null,
    maxDepths,
    samples,
  };
}
