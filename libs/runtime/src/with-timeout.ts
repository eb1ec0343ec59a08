/**
 * `work`'s value, or `onTimeout` when `ms` pass first; the timer is cleared either way (it never
 * keeps the process alive). `work` itself is not cancelled: the caller stops waiting for it.
 */
export async function withTimeout<T, U>(work: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
