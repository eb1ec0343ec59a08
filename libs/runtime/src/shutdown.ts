import type { Logger } from 'pino';
import { withTimeout } from './with-timeout.js';

export type Releaser = () => Promise<void> | void;

/**
 * Resources register how to release themselves as they are opened; shutdown releases them
 * last-opened-first, each bounded by what is left of one overall deadline.
 */
export class Shutdown {
  private readonly releasers: { name: string; release: Releaser }[] = [];
  private running: Promise<boolean> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly deadlineMs: number,
  ) {}

  get started(): boolean {
    return this.running !== undefined;
  }

  register(name: string, release: Releaser): void {
    this.releasers.push({ name, release });
  }

  /** Runs once; later calls get the same promise. Resolves true when everything closed in time. */
  run(): Promise<boolean> {
    this.running ??= this.releaseAll();
    return this.running;
  }

  private async releaseAll(): Promise<boolean> {
    const deadline = Date.now() + this.deadlineMs;
    let clean = true;
    for (const { name, release } of [...this.releasers].reverse()) {
      const left = deadline - Date.now();
      try {
        const finished = await withTimeout(Promise.resolve().then(release).then(() => true), Math.max(left, 0), false);
        if (!finished) {
          clean = false;
          this.logger.warn({ resource: name }, 'shutdown deadline passed before this resource closed');
        }
      } catch (err) {
        clean = false;
        this.logger.warn({ err, resource: name }, 'error while closing');
      }
    }
    return clean;
  }
}
