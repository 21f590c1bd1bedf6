import type { RequestHandler } from 'express';
import { clientKey } from './client-key.js';
import { HttpProblem } from './problems.js';
import { whenResponseCloses } from './when-response-closes.js';

/**
 * Caps the Server-Sent Event streams one client holds open on this process (429 beyond the
 * cap). Counted in memory on purpose: an open stream is a socket and a subscription of this
 * process, which end with it, so its own count is exact and needs no Redis round trip; the
 * cap protects each process's sockets, and a fleet of N processes allows a client N times it.
 */
export class StreamLimiter {
  private readonly open = new Map<string, number>();

  constructor(private readonly maxPerClient: number) {
    if (!(Number.isInteger(maxPerClient) && maxPerClient > 0))
      throw new TypeError(`StreamLimiter needs a positive cap, got ${maxPerClient}`);
  }

  /** Middleware for stream routes: counts the stream until its response closes. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const key = clientKey(req.ip);
      const count = this.open.get(key) ?? 0;
      if (count >= this.maxPerClient) {
        throw new HttpProblem(
          'too-many-streams',
          `this client already holds ${count} event streams open, the most allowed; close one first`,
        );
      }
      this.open.set(key, count + 1);
      // A client that left during the middleware before (the API rate limit awaits Redis) has
      // its slot back at once.
      whenResponseCloses(res, () => {
        const left = (this.open.get(key) ?? 1) - 1;
        if (left > 0) this.open.set(key, left);
        else this.open.delete(key);
      });
      next();
    };
  }
}
