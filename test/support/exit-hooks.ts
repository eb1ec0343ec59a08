import { setTimeout as sleep } from 'node:timers/promises';

/** Cleanups that must run even when the test process exits without its afterAll. */
const exitHooks = new Set<() => void>();
let exitHookInstalled = false;

/** Runs `hook` (synchronously) when the test process exits; returns how to take it back. */
export function onProcessExit(hook: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const h of exitHooks) {
        try {
          h();
        } catch {
          // best effort at exit
        }
      }
    });
  }
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

/** Polls `probe` every 100 ms until it resolves true (a throw counts as false), or fails after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(100);
  }
}
