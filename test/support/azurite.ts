import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { azuriteConnectionString } from '@linebacker/config';
import { freePort } from './free-port.js';

/** An Azurite queue service of its own, in memory, on a free port of 127.0.0.1. */
export interface Azurite {
  /** Connection string for the well-known devstoreaccount1 of this Azurite. */
  readonly connectionString: string;
  readonly port: number;
  /** Azurite's own process id (for CPU readings). */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 20_000;
const KILL_AFTER_MS = 3_000;
const START_ATTEMPTS = 3;
const LISTENING = 'successfully listens on';
/** How much of Azurite's output to keep for error messages. */
const OUTPUT_TAIL = 4_000;

/*
 * Azurite dies with the test process, however that ends:
 *   - stop() (call it in afterAll: it runs when tests fail too);
 *   - an 'exit' hook of this process, for a test file that forgot stop() or threw in between;
 *   - a watchdog preloaded into Azurite that exits when its stdin (a pipe from this process) closes,
 *     which the OS does when this process dies in any way, SIGKILL included. The pipe is unref'd:
 *     Azurite's SIGTERM handler closes the server and lets the event loop run empty, and a ref'd
 *     stdin would keep it alive until the SIGKILL.
 */
const WATCHDOG = [
  "process.stdin.on('end', () => process.exit(0));",
  "process.stdin.on('error', () => process.exit(0));",
  'process.stdin.resume();',
  'process.stdin.unref();',
].join(' ');

export interface AzuriteOptions {
  /**
   * Keep the data in this folder instead of in memory, with the flags of the embedded Azurite of
   * `npm start` (ecosystem.config.js): the bench compares linebacker's embedded Azurite with one
   * started like it.
   */
  location?: string;
  /** Node.js flags for Azurite's process (e.g. the semi-space cap the embedded one has). */
  nodeArgs?: string[];
}

/**
 * Starts `azurite-queue --inMemoryPersistence` (or with a `location`) as a direct child (`node <azurite's queue main.js>`,
 * not npx or the .bin shim, so the pid we signal is Azurite itself) and resolves once it listens.
 * A port taken between freePort() and Azurite's listen is retried on another port.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      return await startOn(port, options);
    } catch (err) {
      if (attempt >= START_ATTEMPTS || !(err instanceof Error) || !err.message.includes('EADDRINUSE')) throw err;
    }
  }
}

async function startOn(port: number, options: AzuriteOptions): Promise<Azurite> {
  const persistence = options.location ? ['--location', options.location, '--skipApiVersionCheck'] : ['--inMemoryPersistence'];
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      '--import',
      `data:text/javascript,${encodeURIComponent(WATCHDOG)}`,
      azuriteQueueMain(),
      '--queueHost',
      HOST,
      '--queuePort',
      String(port),
      ...persistence,
      '--disableTelemetry',
      // no access log per request (the startup lines still come)
      '--silent',
    ],
    // Azurite ensures its --location (default: the working directory) exists even in memory
    { cwd: tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  // the write end must stay open (see WATCHDOG); ignore EPIPE once Azurite is gone
  child.stdin?.on('error', () => {});

  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  // read both pipes for the whole life of the process, or Azurite blocks once a pipe buffer fills
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await terminate(child);
      process.off('exit', killOnExit);
      child.stdin?.destroy();
    })());

  try {
    await listening(child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { connectionString: azuriteConnectionString(HOST, port), port, pid: child.pid!, stop };
}

/** The file behind `node_modules/.bin/azurite-queue`: azurite's package.json `bin` entry. */
function azuriteQueueMain(): string {
  const require = createRequire(import.meta.url);
  const packageJsonPath = require.resolve('azurite/package.json');
  const { bin } = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { bin: Record<string, string> };
  const main = bin['azurite-queue'];
  if (main === undefined) throw new Error(`no azurite-queue in the "bin" of ${packageJsonPath}`);
  return join(dirname(packageJsonPath), main);
}

/** Resolves when Azurite says it listens; rejects when it exits first, fails to spawn, or is slow. */
function listening(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onData = (): void => {
      if (output().includes(LISTENING)) done();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      done(new Error(`Azurite exited before listening (code ${code}, signal ${signal}):\n${output()}`));
    };
    const onError = (err: Error): void => done(new Error(`Azurite failed to start: ${err.message}`, { cause: err }));
    const timer = setTimeout(
      () => done(new Error(`Azurite did not listen within ${START_TIMEOUT_MS} ms:\n${output()}`)),
      START_TIMEOUT_MS,
    );
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** SIGTERM, SIGKILL after KILL_AFTER_MS, resolves when the process has exited. */
async function terminate(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function hasExited(child: ChildProcess): boolean {
  // pid undefined: it never started
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}
