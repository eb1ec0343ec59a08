import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { DependencyUnavailableError, PermanentError } from '@linebacker/domain';
import type { ProblemBody } from './api-schemas.js';
import { Problem, notFoundProblem, unavailableProblem } from './problem.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function sendProblem(res: Response, problem: Problem): void {
  for (const [name, value] of Object.entries(problem.extra.headers ?? {})) res.setHeader(name, value);
  const body: ProblemBody = {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    instance: res.req.originalUrl,
    ...(problem.extra.errors ? { errors: problem.extra.errors } : {}),
  };
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/** body-parser's error types, mapped to the problems a client can act on. */
function bodyParserProblem(err: { type?: unknown; limit?: unknown }): Problem | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new Problem('body-too-large', `the body must be at most ${String(err.limit)} bytes`);
    case 'entity.parse.failed':
      return new Problem('malformed-json', 'the body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new Problem('unsupported-media-type', 'the body must be UTF-8 JSON');
    default:
      break;
  }
  // body-parser's other client errors (http-errors, `expose`: the message is meant for the client),
  // e.g. a Content-Encoding: gzip body that is not gzip (found by the fuzz test: it was a 500)
  const { status, expose, message } = err as { status?: unknown; expose?: unknown; message?: unknown };
  if (expose !== true || typeof message !== 'string') return undefined;
  if (status === 400) return new Problem('malformed-json', `the body could not be read: ${message}`);
  if (status === 413) return new Problem('body-too-large', message);
  if (status === 415) return new Problem('unsupported-media-type', message);
  return undefined;
}

/** The one mapping from errors to HTTP responses. */
export function errorHandler(logger: Logger, retryAfterSeconds: number): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (err instanceof Problem) return sendProblem(res, err);
    const fromBody = bodyParserProblem(err as { type?: unknown });
    if (fromBody) return sendProblem(res, fromBody);
    if (err instanceof URIError && (err as { status?: unknown }).status === 400) {
      // the router could not percent-decode a path parameter (e.g. %FF)
      return sendProblem(res, new Problem('malformed-path', 'the path is not valid percent-encoded UTF-8'));
    }
    if (err instanceof DependencyUnavailableError) {
      logger.warn({ err, traceId: res.locals.traceId as unknown }, `${err.dependency} unavailable`);
      const problem =
        err.dependency === 'postgres'
          ? unavailableProblem('database-unavailable', 'the database is unavailable; retry later', retryAfterSeconds)
          : unavailableProblem('dependency-unavailable', `${err.dependency} is unavailable; retry later`, retryAfterSeconds);
      return sendProblem(res, problem);
    }
    if (err instanceof PermanentError) {
      // libs/db: Postgres refused a value as data (SQLSTATE class 22: a NUL, invalid Unicode, out of
      // range) that validation let through. The request is at fault, not the server: 400, logged
      // so that the validation can be made to catch it first.
      logger.warn({ err, method: req.method, url: req.originalUrl, traceId: res.locals.traceId as unknown }, 'data refused by Postgres');
      return sendProblem(res, new Problem('validation-error', 'a value of the request cannot be stored (not valid text or out of range)'));
    }
    logger.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error');
    return sendProblem(res, new Problem('internal-error', 'an unexpected error occurred'));
  };
}

export const notFoundHandler: RequestHandler = (req) => {
  throw notFoundProblem(`no route for ${req.method} ${req.path}`);
};
