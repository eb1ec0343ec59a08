import express, { type RequestHandler } from 'express';
import { Problem } from './problem.js';

export const BODY_LIMIT_BYTES = 16 * 1024;

const parseJson = express.json({ limit: BODY_LIMIT_BYTES, type: () => true });

function isJsonMediaType(contentType: string): boolean {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

/**
 * For routes that take a body: 415 unless it is declared JSON (`application/json` or `+json`),
 * 413 over 16 KiB, 400 when it does not parse. A request with no body and no Content-Type goes on
 * with an undefined body, which validation reports as a missing body.
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  const contentType = req.header('content-type');
  const noBody = (req.header('content-length') ?? '0') === '0' && !req.header('transfer-encoding');
  if (contentType === undefined && noBody) {
    next();
    return;
  }
  if (!contentType || !isJsonMediaType(contentType)) {
    next(
      new Problem('unsupported-media-type', `the body must be JSON (Content-Type: application/json), not ${contentType ?? 'undeclared'}`),
    );
    return;
  }
  parseJson(req, res, next);
};
