import { readdir, readFile } from 'node:fs/promises';

/** CPU seconds (user + system) each process has used so far, by pid (Linux /proc). */
export type CpuReading = Map<number, number>;

/** USER_HZ: the unit of /proc/<pid>/stat times on Linux. */
const TICKS_PER_SECOND = 100;

async function cpuSecondsOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 (state) on
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND; // utime, stime (fields 14, 15)
}

/** A reading of the given processes; processes that are gone (or no /proc) are left out. */
export async function readCpu(pids: Iterable<number>): Promise<CpuReading> {
  const reading: CpuReading = new Map();
  for (const pid of pids) {
    const seconds = await cpuSecondsOf(pid);
    if (seconds !== undefined) reading.set(pid, seconds);
  }
  return reading;
}

/** user + system CPU seconds of the processes so far (0 where there is none). */
export async function cpuSeconds(pids: number[]): Promise<number> {
  return [...(await readCpu(pids)).values()].reduce((sum, seconds) => sum + seconds, 0);
}

/** The processes whose command line matches, e.g. /^postgres: / for the Postgres backends. */
export async function findPids(commandLine: RegExp): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.test(command.replaceAll('\0', ' '))) pids.push(Number(entry));
  }
  return pids;
}

/**
 * CPU seconds `pids` used between two readings. A process started in between counts from zero; one
 * that ended in between (e.g. a pooled Postgres connection closed when idle) is missing: a slight
 * undercount.
 */
export function cpuSpent(before: CpuReading, after: CpuReading, pids: number[]): number {
  return pids.reduce((sum, pid) => sum + Math.max(0, (after.get(pid) ?? 0) - (before.get(pid) ?? 0)), 0);
}
