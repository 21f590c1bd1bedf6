import { UnrecoverableError, type JobProgress } from 'bullmq';
import { JobTimeoutError, describeIssues } from './errors.js';
import type { JobCatalog } from './job-catalog.js';
import { jobTimeoutMs, type AnyJobContract, type InputOf, type ResultOf } from './job-contract.js';

/** What a handler may do besides computing its result. */
export interface JobContext {
  readonly id: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /**
   * For a run of a job scheduler, the time (ms since the epoch) the run was due: a run that
   * starts late or is retried still knows which slot of the schedule it stands for.
   */
  readonly scheduledAt: number | undefined;
  /**
   * Aborted when the attempt passes its job type's timeout; pass it to I/O calls so abandoned
   * work stops instead of running on in the background.
   */
  readonly signal: AbortSignal;
  // Function-typed properties rather than methods: they need no `this`, so a handler may destructure them.
  readonly reportProgress: (progress: JobProgress) => Promise<void>;
  readonly log: (line: string) => Promise<void>;
  /** Results of a flow's children, keyed by child job key. */
  readonly childResults: () => Promise<Record<string, unknown>>;
}

/** The code that does one job type's work. It must be idempotent: jobs run at least once. */
export type JobHandler<C extends AnyJobContract> = (
  input: InputOf<C>,
  context: JobContext,
) => Promise<ResultOf<C>> | ResultOf<C>;

/** A handler bound to its contract. */
export interface BoundHandler {
  readonly contract: AnyJobContract;
  readonly handle: JobHandler<AnyJobContract>;
}

/** Binds a handler to its contract, checking their types agree. */
export function defineHandler<C extends AnyJobContract>(contract: C, handle: JobHandler<C>): BoundHandler {
  return { contract, handle };
}

/** The parts of a BullMQ job (in-process or sandboxed) the processor uses. */
export interface ProcessableJob {
  readonly id?: string | undefined;
  readonly name: string;
  readonly repeatJobKey?: string | undefined;
  readonly data: unknown;
  readonly attemptsMade: number;
  readonly opts: { readonly attempts?: number | undefined };
  updateProgress(progress: JobProgress): Promise<unknown>;
  log(row: string): unknown;
  getChildrenValues(): Promise<Record<string, unknown>>;
}

/**
 * Builds the function BullMQ calls for each job of the given queues: it finds the handler for
 * the job's type and checks the data read back from Redis against the contract's schema
 * before the handler sees it. Data that does not match (an old producer, a hand-edited job)
 * fails the job at once without retries: retrying cannot make it valid. An attempt that runs
 * past the type's timeout fails with JobTimeoutError whether or not the handler heeds its
 * signal, so a stuck handler never keeps its job active (and its lock renewed) forever.
 */
export function createJobProcessor(catalog: JobCatalog, queues: readonly string[], handlers: readonly BoundHandler[]) {
  const byName = new Map(handlers.map((h) => [h.contract.name, h]));
  for (const queue of queues) {
    for (const contract of catalog.contractsOn(queue)) {
      if (!byName.has(contract.name))
        throw new Error(`no handler registered for job type "${contract.name}" on queue "${queue}"`);
    }
  }
  // One parameter: BullMQ then makes no cancellation signal of its own for each job (nothing
  // here cancels jobs through BullMQ; the attempt's timeout is the processor's own).
  return async (job: ProcessableJob): Promise<unknown> => {
    const handler = byName.get(job.name);
    if (!handler) throw new UnrecoverableError(`no handler for job type "${job.name}"`);
    const parsed = handler.contract.input.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(
        `job data does not match the "${job.name}" schema: ${describeIssues(parsed.error.issues)}`,
      );
    }
    const startedAt = performance.now();
    const attempt = new Attempt(job);
    const outcome = handler.handle(parsed.data, attempt);
    // A handler that returned without a promise has finished: no timer could have fired
    // during it, so the timeout (a timer and a promise per job) is only set up for the others.
    if (!isPromiseLike(outcome)) return outcome;
    const timeoutMs = jobTimeoutMs(handler.contract);
    return await attempt.bounded(
      outcome,
      timeoutMs - (performance.now() - startedAt),
      () => new JobTimeoutError(job.name, timeoutMs),
    );
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * One attempt at a job, as its handler sees it. The signal is made only for a handler that
 * asks for it (one without I/O never does): an AbortController per job is a measurable share
 * of a trivial job's cost.
 */
class Attempt implements JobContext {
  readonly id: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly scheduledAt: number | undefined;
  readonly reportProgress: JobContext['reportProgress'];
  readonly log: JobContext['log'];
  readonly childResults: JobContext['childResults'];
  #controller: AbortController | undefined;
  #endedBy: Error | undefined;

  constructor(job: ProcessableJob) {
    this.id = job.id ?? '';
    this.attempt = job.attemptsMade + 1;
    this.maxAttempts = job.opts.attempts ?? 1;
    this.scheduledAt = scheduledRunTime(job);
    this.reportProgress = async (progress) => {
      await job.updateProgress(progress);
    };
    this.log = async (line) => {
      await job.log(line);
    };
    this.childResults = () => job.getChildrenValues();
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#endedBy) this.#controller.abort(this.#endedBy);
    }
    return this.#controller.signal;
  }

  /** Settles with the handler's outcome, or rejects (and aborts the signal) once `remainingMs` have passed. */
  bounded<T>(outcome: PromiseLike<T>, remainingMs: number, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.#endedBy = timeoutError();
          this.#controller?.abort(this.#endedBy);
          reject(this.#endedBy);
        },
        Math.max(0, remainingMs),
      );
      const clearingTimer =
        <A extends unknown[]>(settle: (...args: A) => void) =>
        (...args: A): void => {
          clearTimeout(timer);
          settle(...args);
        };
      // The handler's own rejection reason is passed on as it is, as an await would.
      outcome.then(clearingTimer(resolve), clearingTimer(reject));
    });
  }
}

// BullMQ names each run of a job scheduler `repeat:<scheduler id>:<due time in ms>`; the id, unlike
// the delay, survives retries unchanged.
function scheduledRunTime(job: ProcessableJob): number | undefined {
  if (job.repeatJobKey === undefined || job.id === undefined) return undefined;
  const dueAt = Number(job.id.slice(job.id.lastIndexOf(':') + 1));
  return Number.isSafeInteger(dueAt) ? dueAt : undefined;
}
