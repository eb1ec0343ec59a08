import type { FieldError } from '@linebacker/domain';

/**
 * Every problem type the API answers with (RFC 9457, `type` urn:linebacker:problem:<slug>): its
 * HTTP status and title, in one place. The detail says what happened this time.
 */
export const PROBLEM_TYPES = {
  'validation-error': { status: 400, title: 'Invalid request' },
  'malformed-json': { status: 400, title: 'Malformed JSON' },
  'malformed-path': { status: 400, title: 'Malformed path' },
  unauthenticated: { status: 401, title: 'Unauthenticated' },
  'missing-scope': { status: 403, title: 'Forbidden' },
  'cross-origin': { status: 403, title: 'Forbidden' },
  'read-only-queue': { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'body-too-large': { status: 413, title: 'Body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key reused' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'internal-error': { status: 500, title: 'Internal error' },
  'database-unavailable': { status: 503, title: 'Service unavailable' },
  'dependency-unavailable': { status: 503, title: 'Service unavailable' },
  'identity-provider-unavailable': { status: 503, title: 'Service unavailable' },
  'pipeline-overloaded': { status: 503, title: 'Pipeline overloaded' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemSlug = keyof typeof PROBLEM_TYPES;

export const problemType = (slug: ProblemSlug): string => `urn:linebacker:problem:${slug}`;

/** A problem. Route code throws these; the error handler (error-handler.ts) turns them into responses. */
export class Problem extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly slug: ProblemSlug,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'Problem';
    ({ status: this.status, title: this.title } = PROBLEM_TYPES[slug]);
  }

  get type(): string {
    return problemType(this.slug);
  }
}

export const validationProblem = (errors: FieldError[], what = 'request'): Problem =>
  new Problem(
    'validation-error',
    `the ${what} has ${errors.length} invalid field${errors.length === 1 ? '' : 's'}: ${errors.map((e) => e.field).join(', ')}`,
    { errors },
  );

export const notFoundProblem = (detail: string): Problem => new Problem('not-found', detail);

/** A 503 that tells the client when to come back. */
export const unavailableProblem = (
  slug: 'database-unavailable' | 'dependency-unavailable' | 'identity-provider-unavailable' | 'pipeline-overloaded',
  detail: string,
  retryAfterSeconds: number,
): Problem => new Problem(slug, detail, { headers: { 'Retry-After': String(retryAfterSeconds) } });
