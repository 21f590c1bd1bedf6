import { defineQueue } from '@flotilla/queue';

/** Short, mostly I/O-bound jobs that users wait for; many run at once per worker. */
export const defaultQueue = defineQueue({
  name: 'default',
  description: 'I/O-bound jobs users wait for (sleep, flaky, digest)',
  concurrency: 20,
  processor: 'inline',
});

/** CPU-bound jobs, run in worker threads so they never block the worker's event loop. */
export const cpuQueue = defineQueue({
  name: 'cpu',
  description: 'CPU-bound jobs run in worker threads (fib)',
  concurrency: 2,
  processor: 'sandboxed',
});

/** Work no user waits for: cache refreshes, moderation. Kept apart so it never delays user jobs. */
export const backgroundQueue = defineQueue({
  name: 'background',
  description: 'Application-internal jobs (cache refreshes, comment moderation)',
  concurrency: 5,
  processor: 'inline',
});

/**
 * Calls to the outside world (URL checks), at most 10 started per second across the whole
 * fleet however many workers run: the kind of limit an outbound API imposes.
 */
export const outboundQueue = defineQueue({
  name: 'outbound',
  description: 'Outbound HTTP calls (check-url), rate-limited to 10 per second fleet-wide',
  concurrency: 5,
  processor: 'inline',
  rateLimit: { max: 10, durationMs: 1000 },
});
