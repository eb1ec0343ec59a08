import autocannon from 'autocannon';

export interface LoadResult {
  connections: number;
  overallRate: number | null;
  durationS: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

let sequence = 0;

/**
 * POSTs backup requests with autocannon: a closed loop at `connections`, or a fixed offered rate
 * with `overallRate`. Every body has a location of its own, so none is a duplicate.
 */
export async function postLoad(options: {
  url: string;
  token?: string;
  connections: number;
  durationS: number;
  overallRate?: number;
  backupJobId: string;
}): Promise<LoadResult> {
  const dataDate = new Date().toISOString().slice(0, 10);
  const run = `${process.pid}-${Date.now()}`;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationS,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    requests: [
      {
        method: 'POST',
        path: '/api/v1/backup-requests',
        headers: {
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ backupJobId: options.backupJobId, dataDate, backupDataLocation: `/bench/${run}/${sequence++}` }),
        }),
      },
    ],
  });
  return {
    connections: options.connections,
    overallRate: options.overallRate ?? null,
    durationS: options.durationS,
    requests: result.requests.total,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
