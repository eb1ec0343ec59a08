import type { FieldError } from '@linebacker/domain';

/**
 * An RFC 9457 problem. Route code throws these; the error handler (error-handler.ts) is the one
 * place that turns errors into HTTP responses.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'Problem';
  }

  get type(): string {
    return `urn:linebacker:problem:${this.slug}`;
  }
}

export const validationProblem = (errors: FieldError[], what = 'request'): Problem =>
  new Problem(
    400,
    'validation-error',
    'Invalid request',
    `the ${what} has ${errors.length} invalid field${errors.length === 1 ? '' : 's'}: ${errors.map((e) => e.field).join(', ')}`,
    { errors },
  );

export const notFoundProblem = (detail: string): Problem => new Problem(404, 'not-found', 'Not found', detail);
