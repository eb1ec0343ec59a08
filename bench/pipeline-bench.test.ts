import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../test/support/pipeline.js';
import { runPhase, type Load, type PhaseResult } from './support/run-phase.js';
import { startLinebacker, startReference, type AzuriteMode, type BenchSystem } from './support/systems.js';

/*
 * `npm run bench` (issue 10): linebacker against a minimal reference pipeline of the same shape
 * (bench/baseline: Express accept, three BullMQ stage workers with one conditional UPDATE each, a bare
 * simulator and a bare external receiver on Azure queues), in one run, on the same Postgres and
 * Redis and the same kind of Azurite. Every run starts its system cold (fresh processes, database,
 * Azurite, no warm-up), offers a smooth load (evenly spaced requests) or a closed loop, and waits for
 * the drain. Figures are ratios to the reference.
 *
 * Parts (LINEBACKER_BENCH_PARTS, comma-separated):
 * - rates: offered rates stepped up (LINEBACKER_BENCH_RATES) until the reference no longer sustains one;
 * - stability: cold runs at the highest rate the reference sustained (LINEBACKER_BENCH_RUNS, default 5;
 *   without the rates part, at the first of LINEBACKER_BENCH_RATES);
 * - closed: a closed loop of 50 clients;
 * - overload: a closed loop of 64 clients for 60 s, then half the top rate for 90 s: does it come back?
 * Each for every Azurite (LINEBACKER_BENCH_AZURITE: embedded, in-memory). LINEBACKER_BENCH=full runs
 * them all; the short form (in `npm test`) one 3-second rate, embedded, and asserts nothing about speed.
 */
const env = process.env;
const full = env.LINEBACKER_BENCH === 'full';
const durationS = Number(env.LINEBACKER_BENCH_DURATION ?? (full ? 30 : 3));
const rates = (env.LINEBACKER_BENCH_RATES ?? (full ? '100,150,200,250,300' : '50')).split(',').map(Number);
const modes = (env.LINEBACKER_BENCH_AZURITE ?? (full ? 'embedded,in-memory' : 'embedded')).split(',') as AzuriteMode[];
const parts = new Set((env.LINEBACKER_BENCH_PARTS ?? (full ? 'rates,stability,closed,overload' : 'rates')).split(','));
const runs = Number(env.LINEBACKER_BENCH_RUNS ?? 5);
const OVERLOAD = { connections: 64, durationS: 60, afterS: 90 };

type Kind = BenchSystem['name'];

type RunOptions = Parameters<typeof runPhase>[2];

/** One run of `kind` started cold. */
async function coldRun(kind: Kind, mode: AzuriteMode, loads: Load[], options: RunOptions): Promise<PhaseResult> {
  const system = kind === 'linebacker' ? await startLinebacker(mode) : await startReference(mode);
  try {
    return await runPhase(system, loads, options);
  } finally {
    await system.stop();
  }
}

interface Pair {
  mode: AzuriteMode;
  phase: string;
  offered: number | null;
  baseline: PhaseResult;
  linebacker: PhaseResult;
}

const ratio = (ours: number | null, theirs: number | null) =>
  ours === null || theirs === null ? null : theirs > 0 ? Math.round((ours / theirs) * 100) / 100 : null;

/** The reference sustains a rate: it finishes ≥ 95 % of it and drains every request. */
const sustains = (run: PhaseResult, rate: number) => run.drained && run.completion.completedPerSecond >= rate * 0.95;

/**
 * linebacker keeps up with the reference (issue 10, acceptance 1): ≥ 0.95× its completions, p99 ≤ 2×
 * its p99, drained. (Completions are compared up to the offered rate: in the measured window a
 * system that fell behind during its cold start finishes more than is offered while it catches up.)
 */
function keepsUp(pair: Pair): boolean {
  const { linebacker: ours, baseline: theirs } = pair;
  const p99 = ours.completion.endToEndMs.p99;
  const theirP99 = theirs.completion.endToEndMs.p99;
  const target = Math.min(theirs.completion.completedPerSecond, pair.offered ?? Infinity);
  return (
    ours.drained &&
    ours.completion.completedPerSecond >= 0.95 * target &&
    p99 !== null &&
    theirP99 !== null &&
    p99 <= 2 * Math.max(theirP99, 1)
  );
}

const azureMax = (run: PhaseResult) =>
  Math.max(0, ...Object.entries(run.maxDepths).filter(([queue]) => queue.startsWith('azure:')).map(([, depth]) => depth));

function row(pair: Pair): string {
  const { linebacker: l, baseline: b } = pair;
  const e2e = (r: PhaseResult) => `${r.completion.endToEndMs.p50 ?? '∞'} / ${r.completion.endToEndMs.p99 ?? '∞'}`;
  return [
    pair.mode,
    pair.phase,
    b.completion.completedPerSecond,
    l.completion.completedPerSecond,
    ratio(l.completion.completedPerSecond, b.completion.completedPerSecond),
    e2e(b),
    e2e(l),
    ratio(l.completion.endToEndMs.p99, b.completion.endToEndMs.p99),
    b.cpuMsPerRequest.total,
    l.cpuMsPerRequest.total,
    ratio(l.cpuMsPerRequest.total ?? null, b.cpuMsPerRequest.total ?? null),
    `${b.steadyCpuMsPerRequest?.total ?? '–'} / ${l.steadyCpuMsPerRequest?.total ?? '–'}`,
    ratio(l.steadyCpuMsPerRequest?.total ?? null, b.steadyCpuMsPerRequest?.total ?? null),
    `${azureMax(b)} / ${azureMax(l)}`,
    `${b.drainS} / ${l.drainS}`,
    pair.phase.startsWith('closed') || pair.phase.startsWith('overload') ? '' : keepsUp(pair) ? 'yes' : 'NO',
  ].join(' | ');
}

const cpuLine = (perRequest: Record<string, number> | null) => {
  if (!perRequest) return '–';
  const entries = Object.entries(perRequest);
  const postgres = entries.filter(([name]) => name.startsWith('postgres')).reduce((sum, [, ms]) => sum + ms, 0);
  return [...entries.map(([name, ms]) => `${name} ${ms}`), `(postgres all ${Math.round(postgres * 100) / 100})`].join(', ');
};

describe(`pipeline benchmark (${full ? 'full' : 'short'})`, () => {
  it('measures linebacker against the reference pipeline, cold runs, ratios', async () => {
    const pairs: Pair[] = [];
    const both = async (mode: AzuriteMode, phase: string, offered: number | null, loads: Load[], options: RunOptions = { drainTimeoutS: 180 }) => {
      const baseline = await coldRun('baseline', mode, loads, options);
      const linebacker = await coldRun('linebacker', mode, loads, options);
      const pair = { mode, phase, offered, baseline, linebacker };
      pairs.push(pair);
      console.log(`| ${row(pair)} |`);
      return pair;
    };

    for (const mode of modes) {
      let top = rates[0]!;
      if (parts.has('rates')) {
        for (const rate of rates) {
          const pair = await both(mode, `${rate}/s`, rate, [{ ratePerSecond: rate, durationS }]);
          if (!sustains(pair.baseline, rate)) break;
          top = rate;
        }
      }
      if (parts.has('stability')) {
        for (let run = 1; run <= runs; run++) await both(mode, `${top}/s run ${run}`, top, [{ ratePerSecond: top, durationS }]);
      }
      if (parts.has('closed')) await both(mode, 'closed loop 50', null, [{ connections: 50, durationS }]);
      if (parts.has('overload')) {
        const half = Math.round(top / 2);
        // measured: the last 30 s of the half-rate phase, i.e. from one minute after the drop
        await both(mode, `overload 64 → ${half}/s`, half, [
          { connections: OVERLOAD.connections, durationS: OVERLOAD.durationS },
          { ratePerSecond: half, durationS: OVERLOAD.afterS },
        ], { window: [60, OVERLOAD.afterS], drainTimeoutS: 900 });
      }
    }

    const at = new Date().toISOString();
    const lines = [
      `# linebacker bench (${full ? 'full' : 'short'}, ${durationS} s per run, cold starts) — ${at}`,
      '',
      'Ratios are linebacker / reference. e2e from the database: accept → final status; requests still open after the drain count as infinitely late (∞).',
      '',
      '| Azurite | run | reference completed/s | linebacker completed/s | ratio | reference e2e p50 / p99 ms | linebacker e2e p50 / p99 ms | p99 ratio | reference CPU ms/req | linebacker CPU ms/req | CPU ratio | steady CPU ms/req ref / lb | steady CPU ratio | max Azure queue depth ref / lb | drain s ref / lb | keeps up |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...pairs.map((pair) => `| ${row(pair)} |`),
      '',
      'CPU per finished request by process (ms), from the start of the load until drained:',
      ...pairs.flatMap((pair) => [
        `- ${pair.mode} ${pair.phase} reference: ${cpuLine(pair.baseline.cpuMsPerRequest)}`,
        `- ${pair.mode} ${pair.phase} linebacker: ${cpuLine(pair.linebacker.cpuMsPerRequest)}`,
      ]),
      '',
      'Steady CPU per finished request by process (ms), over the measured window only:',
      ...pairs.flatMap((pair) => [
        `- ${pair.mode} ${pair.phase} reference: ${cpuLine(pair.baseline.steadyCpuMsPerRequest)}`,
        `- ${pair.mode} ${pair.phase} linebacker: ${cpuLine(pair.linebacker.steadyCpuMsPerRequest)}`,
      ]),
      '',
      'Max depth per queue (BullMQ jobs waiting/active/delayed; azure: messages):',
      ...pairs.flatMap((pair) => [
        `- ${pair.mode} ${pair.phase} reference: ${JSON.stringify(pair.baseline.maxDepths)}`,
        `- ${pair.mode} ${pair.phase} linebacker: ${JSON.stringify(pair.linebacker.maxDepths)}`,
      ]),
      '',
      'e2e p99 ms of the requests accepted in each 5 s of the measured window (where the tail sits):',
      ...pairs.flatMap((pair) => [
        `- ${pair.mode} ${pair.phase} reference: ${pair.baseline.completion.p99By5s.map((p) => p ?? '∞').join(' ')}`,
        `- ${pair.mode} ${pair.phase} linebacker: ${pair.linebacker.completion.p99By5s.map((p) => p ?? '∞').join(' ')}`,
      ]),
      '',
      'Completions per second in 5 s buckets (overload runs):',
      ...pairs
        .filter((pair) => pair.phase.startsWith('overload'))
        .flatMap((pair) => [
          `- ${pair.mode} reference: ${pair.baseline.completionsPerSecond.join(' ')}`,
          `- ${pair.mode} linebacker: ${pair.linebacker.completionsPerSecond.join(' ')}`,
        ]),
    ];
    const summary = lines.join('\n');
    console.log(`\n${summary}\n`);
    const dir = join(REPO_ROOT, 'bench/results');
    await mkdir(dir, { recursive: true });
    const stamp = at.replace(/[:.]/g, '-');
    await writeFile(join(dir, `${stamp}.json`), JSON.stringify({ at, full, durationS, pairs }, null, 2));
    await writeFile(join(dir, `${stamp}.md`), `${summary}\n`);

    // the short form only proves the bench runs end to end; it asserts nothing about speed
    expect(pairs.length).toBeGreaterThan(0);
    for (const pair of pairs) {
      expect(pair.baseline.completion.completed).toBeGreaterThan(0);
      expect(pair.linebacker.completion.completed).toBeGreaterThan(0);
    }
  });
});
