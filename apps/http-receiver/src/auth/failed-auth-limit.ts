import { MemoryStore, rateLimit, type Options } from 'express-rate-limit';
import type { Request, RequestHandler } from 'express';
import { Problem } from '../api/problem.js';

const WINDOW_MS = 60_000;

/**
 * Failed authentications per source address (req.ip, as seen through LINEBACKER_TRUST_PROXY) over
 * a one-minute window. Once an address has failed `perMinute` times, its requests are answered 429
 * before their credential is looked up, so guessing keys costs no database work; a caller whose
 * credential is already known good (cached) is not held up by someone else's failures from the
 * same address. The failure is counted after the lookup: concurrent guesses from one address can
 * overshoot the limit by their number in flight, not more.
 *
 * The counts live in this process's memory, as the per-client budget does (rate-limit.ts): the
 * check costs no network round trip and still works while Redis is down, and with N receiver
 * processes an address gets at most N × the limit, which keeps a guesser to a few hundred attempts
 * a minute against keys of 256 random bits.
 */
export class FailedAuthLimit {
  private readonly store = new MemoryStore();

  constructor(
    readonly perMinute: number,
    private readonly onThrottled: () => void = () => {},
  ) {
    this.store.init({ windowMs: WINDOW_MS } as Options);
  }

  /** 429 when this address has failed too often in the current window. */
  async check(req: Request): Promise<void> {
    const hits = await this.store.get(addressOf(req));
    if (hits && hits.totalHits >= this.perMinute) {
      this.onThrottled();
      const seconds = Math.max(1, Math.ceil(((hits.resetTime?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000));
      throw new Problem('rate-limited', `too many failed authentications from this address; try again in ${seconds} s`, {
        headers: { 'Retry-After': String(seconds) },
      });
    }
  }

  async recordFailure(req: Request): Promise<void> {
    await this.store.increment(addressOf(req));
  }

  /**
   * Runs a credential check for this request: refused first (429) when the address failed too
   * often and the credential is not already known good; a 401 from it counts as a failure.
   */
  async guard<T>(req: Request, knownGood: boolean, verify: () => Promise<T>): Promise<T> {
    if (!knownGood) await this.check(req);
    try {
      return await verify();
    } catch (err) {
      if (err instanceof Problem && err.status === 401) await this.recordFailure(req);
      throw err;
    }
  }
}

const addressOf = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/**
 * Every sign-in attempt (POST /admin/session) per source address, failed or not, with the same
 * budget: a form that exchanges a key for a session is what a guesser would use.
 */
export function signInAttemptLimit(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // behind a proxy req.ip is what LINEBACKER_TRUST_PROXY says; not the library's business to warn
    validate: { xForwardedForHeader: false },
    handler: (_req, _res, next, options) => {
      next(
        new Problem('rate-limited', `at most ${perMinute} sign-in attempts a minute from one address`, {
          headers: { 'Retry-After': String(Math.ceil(options.windowMs / 1000)) },
        }),
      );
    },
  });
}
