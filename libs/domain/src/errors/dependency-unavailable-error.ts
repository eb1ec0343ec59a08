export type Dependency = 'postgres' | 'redis' | 'interface-queue';

/**
 * A dependency cannot serve us right now (unreachable, restarting, overloaded): worth retrying
 * later. The adapters (libs/db's pool, libs/queues' producers, libs/interface-queue) throw this at
 * their boundary, with the original error as `cause`, so callers only need `instanceof`.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: Dependency,
    options: { cause: unknown },
  ) {
    super(`${dependency} unavailable: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
    this.name = 'DependencyUnavailableError';
  }
}
