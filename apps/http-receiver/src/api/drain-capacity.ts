import type { RequestStatus } from '@linebacker/domain';
import type { HealthSnapshot } from '../health/health-schemas.js';
import { backlogOf } from './admission.js';

/** Out of the pipeline: a move between these (a late success after Failed) leaves their sum alone. */
const FINISHED: readonly RequestStatus[] = ['Succeeded', 'Failed', 'NotAllowed'];
/** The shortest span a rate is measured over: the snapshot's counts move about once a second. */
const SPAN_MS = 10_000;
/** How long a rate is remembered: the capacity seen while busy still counts once the pipeline is idle. */
const MEMORY_MS = 10 * 60_000;

interface Sample {
  at: number;
  finished: number;
  /** Jobs waiting in the pipeline's queues. */
  backlog: number;
}

/**
 * How many requests per second the pipeline can finish, as seen from the /healthz snapshots this
 * receiver reads (admission control, README "Reliability"): the highest rate of requests leaving
 * the pipeline (Succeeded, Failed or NotAllowed) over any 10 s of the last 10 minutes during which
 * it was draining a backlog (at least `busyBacklog` jobs waiting at both ends). Only then is what
 * it finishes what it can finish; with nothing waiting it finishes what it is offered. The
 * highest, not the latest: while the pipeline is idle, or the backup interface is away, it
 * finishes little but could finish as much as before. Undefined until such a span was seen (a
 * receiver that just started, a pipeline never behind in the last 10 minutes).
 */
export class DrainCapacity {
  private readonly samples: Sample[] = [];
  private lastGeneratedAt: string | undefined;
  private best: number | undefined;

  constructor(private readonly busyBacklog: number) {}

  /** Takes a snapshot's counts (each snapshot once; one without request figures is skipped). */
  observe(snapshot: Pick<HealthSnapshot, 'generatedAt' | 'requests' | 'queues'> | undefined): void {
    if (!snapshot?.requests || snapshot.generatedAt === this.lastGeneratedAt) return;
    this.lastGeneratedAt = snapshot.generatedAt;
    const { byStatus } = snapshot.requests;
    const sample = {
      at: Date.parse(snapshot.generatedAt),
      finished: FINISHED.reduce((sum, status) => sum + byStatus[status], 0),
      backlog: backlogOf(snapshot),
    };
    const last = this.samples.at(-1);
    if (last && sample.at <= last.at) return;
    this.samples.push(sample);
    while (this.samples.length > 0 && this.samples[0]!.at < sample.at - MEMORY_MS) this.samples.shift();
    this.best = this.highestRate();
  }

  /** Requests per second, or undefined while unknown. */
  perSecond(): number | undefined {
    return this.best;
  }

  private highestRate(): number | undefined {
    let best = 0;
    let from = 0;
    for (const to of this.samples) {
      // the latest sample at least SPAN_MS before `to`
      while (from + 1 < this.samples.length && this.samples[from + 1]!.at <= to.at - SPAN_MS) from += 1;
      const start = this.samples[from]!;
      if (to.at - start.at < SPAN_MS || Math.min(start.backlog, to.backlog) < this.busyBacklog) continue;
      best = Math.max(best, ((to.finished - start.finished) * 1000) / (to.at - start.at));
    }
    return best > 0 ? best : undefined;
  }
}
