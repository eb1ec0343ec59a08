/**
 * How much work a process has in progress right now (jobs being handled, HTTP requests being
 * answered): what the instance registry reports as `activeJobs` (SPEC §9). Counting costs an
 * increment and a decrement; nothing else reads it on a hot path.
 */
export class WorkInProgress {
  private active = 0;

  get count(): number {
    return this.active;
  }

  /** Counts one unit of work as started; the returned function ends it (calling it again does nothing). */
  begin(): () => void {
    this.active += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.active -= 1;
    };
  }

  /** Runs `work`, counted while it runs. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    const end = this.begin();
    try {
      return await work();
    } finally {
      end();
    }
  }
}
