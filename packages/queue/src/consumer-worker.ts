import { Worker, type Child, type ChildPool, type Job, type JobJson, type Processor, type WorkerOptions } from 'bullmq';
import { JobTimeoutError } from './errors.js';

/** What a consumer worker needs besides BullMQ's options. */
export interface ConsumerWorkerOptions extends WorkerOptions {
  /** The attempt timeout of a job type, in milliseconds. */
  readonly timeoutOf: (jobName: string) => number;
}

// Time a sandboxed attempt gets past its timeout to fail by itself (the processor inside the
// thread races the same timeout) before its thread is terminated.
const TERMINATE_GRACE_MS = 1000;

/**
 * A BullMQ worker that can tell whether its fetch loop still works, and that bounds sandboxed
 * attempts. It notes every answer the loop gets from Redis (a job or "none waiting"), so a
 * liveness probe can tell a loop that silently stopped from an idle one. For a sandboxed
 * processor it terminates the worker thread of an attempt that outlives its job type's timeout:
 * a thread blocked in a computation never sees a signal, and left alone it would spin forever.
 */
export class ConsumerWorker extends Worker {
  readonly #timeoutOf: (jobName: string) => number;
  #lastAnswerAt = Date.now();

  constructor(name: string, processor: string | Processor, { timeoutOf, ...options }: ConsumerWorkerOptions) {
    super(name, processor, options);
    this.#timeoutOf = timeoutOf;
  }

  /** When the fetch loop last heard from Redis (epoch ms). */
  get lastAnswerAt(): number {
    return this.#lastAnswerAt;
  }

  /** Jobs this worker is running now. */
  get inFlight(): number {
    return this.lockManager.getActiveJobCount();
  }

  /** Restarts the silence clock, e.g. when the connection reconnects after an outage. */
  noteConnectionChange(): void {
    this.#lastAnswerAt = Date.now();
  }

  // Every fetch ends here, whether it found a job or not: the loop's heartbeat.
  protected override async nextJobFromJobData(jobData?: JobJson, jobId?: string, token?: string): Promise<Job> {
    this.#lastAnswerAt = Date.now();
    return await super.nextJobFromJobData(jobData, jobId, token);
  }

  protected override async callProcessJob(job: Job, token: string, signal?: AbortSignal): Promise<unknown> {
    // BullMQ keeps its thread pool private; it exists only for a sandboxed processor.
    const pool = (this as unknown as { childPool?: ChildPool }).childPool;
    if (!pool) return await super.callProcessJob(job, token, signal);
    // BullMQ's sandbox takes a thread from the pool synchronously as the attempt starts;
    // catching that call is the only way to learn which thread runs this job.
    let thread: Promise<Child> | undefined;
    const retain = pool.retain.bind(pool);
    pool.retain = (file) => (thread = retain(file));
    let attempt: Promise<unknown>;
    try {
      attempt = super.callProcessJob(job, token, signal);
    } finally {
      pool.retain = retain;
    }
    const timeoutMs = this.#timeoutOf(job.name);
    let terminated = false;
    const timer = setTimeout(() => {
      terminated = true;
      // Its exit rejects the attempt inside BullMQ's sandbox, which ends up in the catch below.
      void thread?.then((child) => pool.kill(child, 'SIGKILL')).catch(() => undefined);
    }, timeoutMs + TERMINATE_GRACE_MS);
    try {
      return await attempt;
    } catch (error) {
      if (terminated) throw new JobTimeoutError(job.name, timeoutMs);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
