import type { ServerResponse } from 'node:http';

/**
 * Calls `release` once the response has closed (sent, or its client went away), and at once when
 * that has already happened: a 'close' listener added after the event never runs, and a handler
 * that awaits (a rate limit, a Redis read) can reach any line after its client left. Returns a
 * function that cancels the call.
 */
export function whenResponseCloses(res: ServerResponse, release: () => void): () => void {
  if (res.closed || res.destroyed) {
    release();
    return () => undefined;
  }
  res.once('close', release);
  return () => res.off('close', release);
}
