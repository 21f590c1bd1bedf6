import { UnrecoverableError, type JobProgress } from 'bullmq';
import { describeIssues } from './errors.js';
import type { JobCatalog } from './job-catalog.js';
import type { AnyJobContract, InputOf, ResultOf } from './job-contract.js';

/** What a handler may do besides computing its result. */
export interface JobContext {
  readonly id: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  reportProgress(progress: JobProgress): Promise<void>;
  log(line: string): Promise<void>;
  /** Results of a flow's children, keyed by child job key. */
  childResults(): Promise<Record<string, unknown>>;
}

/** The code that does one job type's work. It must be idempotent: jobs run at least once. */
export type JobHandler<C extends AnyJobContract> = (input: InputOf<C>, context: JobContext) => Promise<ResultOf<C>> | ResultOf<C>;

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
 * fails the job at once without retries: retrying cannot make it valid.
 */
export function createJobProcessor(catalog: JobCatalog, queues: readonly string[], handlers: readonly BoundHandler[]) {
  const byName = new Map(handlers.map((h) => [h.contract.name, h]));
  for (const queue of queues) {
    for (const contract of catalog.contractsOn(queue)) {
      if (!byName.has(contract.name)) throw new Error(`no handler registered for job type "${contract.name}" on queue "${queue}"`);
    }
  }
  return async (job: ProcessableJob): Promise<unknown> => {
    const handler = byName.get(job.name);
    if (!handler) throw new UnrecoverableError(`no handler for job type "${job.name}"`);
    const parsed = handler.contract.input.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`job data does not match the "${job.name}" schema: ${describeIssues(parsed.error.issues)}`);
    }
    const context: JobContext = {
      id: job.id ?? '',
      attempt: job.attemptsMade + 1,
      maxAttempts: job.opts.attempts ?? 1,
      reportProgress: async (progress) => {
        await job.updateProgress(progress);
      },
      log: async (line) => {
        await job.log(line);
      },
      childResults: () => job.getChildrenValues(),
    };
    return await handler.handle(parsed.data, context);
  };
}
