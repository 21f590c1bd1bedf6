/** A queue and how workers consume it. */
export interface QueueDefinition {
  readonly name: string;
  readonly description: string;
  /** Jobs one worker process runs at once on this queue. */
  readonly concurrency: number;
  /**
   * `inline` runs handlers on the worker's event loop (right for I/O-bound jobs); `sandboxed`
   * runs them in worker threads so CPU-bound jobs never block health checks or lock renewal.
   */
  readonly processor: 'inline' | 'sandboxed';
  /**
   * At most `max` jobs of this queue start per `durationMs`, counted across every worker of the
   * fleet (BullMQ's limiter keeps the count in Redis): for work that calls a rate-limited API.
   */
  readonly rateLimit?: { readonly max: number; readonly durationMs: number };
}

const NAME = /^[a-z][a-z0-9-]{0,29}$/;

/** Declares a queue; the name becomes part of job ids and Redis keys, so it is kept short and plain. */
export function defineQueue(definition: QueueDefinition): QueueDefinition {
  if (!NAME.test(definition.name)) throw new Error(`queue name "${definition.name}" must match ${String(NAME)}`);
  if (!Number.isInteger(definition.concurrency) || definition.concurrency < 1) {
    throw new Error(`queue "${definition.name}": concurrency must be a positive integer`);
  }
  const limit = definition.rateLimit;
  if (
    limit &&
    !(Number.isInteger(limit.max) && limit.max >= 1 && Number.isInteger(limit.durationMs) && limit.durationMs >= 1)
  ) {
    throw new Error(`queue "${definition.name}": rateLimit needs a positive integer max and durationMs`);
  }
  return Object.freeze(definition);
}
