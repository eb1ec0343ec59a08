import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { REQUEST_ID } from './api-schemas.js';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The trace id of an HTTP request: the W3C `traceparent` trace id, else a sane `X-Request-Id`,
 * else a new one. It is echoed in `X-Request-Id` and travels with the request through the pipeline.
 */
export function traceIdOf(headers: { traceparent?: string | undefined; 'x-request-id'?: string | undefined }): string {
  const fromTraceparent = headers.traceparent ? TRACEPARENT.exec(headers.traceparent)?.[1] : undefined;
  if (fromTraceparent && !/^0+$/.test(fromTraceparent)) return fromTraceparent;
  const requestId = headers['x-request-id'];
  if (requestId && REQUEST_ID.test(requestId)) return requestId;
  // 122 random bits as 32 hex digits (a valid W3C trace id); randomUUID draws from a pre-filled
  // entropy buffer: ~0.5 µs instead of ~6.5 µs for randomBytes(16) on every request
  return randomUUID().replaceAll('-', '');
}

export const traceId: RequestHandler = (req, res, next) => {
  const id = traceIdOf({
    traceparent: req.header('traceparent'),
    'x-request-id': req.header('x-request-id'),
  });
  res.locals.traceId = id;
  res.setHeader('X-Request-Id', id);
  next();
};
