import type { z } from 'zod';

/** How a failed attempt is retried. Jitter (0..1) spreads retries so a fleet does not retry in lockstep. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoff: { readonly type: 'exponential' | 'fixed'; readonly delayMs: number; readonly jitter: number };
}

/** A child of a flow: another declared job type and its input. */
export interface ChildJob {
  readonly contract: AnyJobContract;
  readonly input: unknown;
}

/**
 * Everything the web and the worker must agree on about one job type: its name, the queue it
 * runs on, the schema of its input (checked when it is enqueued and again when a worker reads
 * it back from Redis), the schema of its result, and how it is retried. A contract with
 * `children` is a flow: its job runs only after those child jobs finish.
 */
export interface JobContract<
  Name extends string = string,
  Input extends z.ZodType = z.ZodType,
  Result extends z.ZodType = z.ZodType,
> {
  readonly name: Name;
  readonly queue: string;
  readonly description: string;
  readonly input: Input;
  readonly result: Result;
  readonly retry: RetryPolicy;
  /**
   * How long one attempt may run, in milliseconds (default {@link DEFAULT_JOB_TIMEOUT_MS}). A
   * longer attempt fails with a JobTimeoutError and is retried like any failure, so a stuck
   * handler never holds its job active forever.
   */
  readonly timeoutMs?: number;
  /** BullMQ priority (1 is the highest); omitted means plain FIFO, which is cheaper. */
  readonly priority?: number;
  /** Enqueued only by the application itself: the HTTP API neither accepts nor documents it. */
  readonly internal?: boolean;
  /**
   * While a job with the same key is waiting, delayed or running, enqueueing another is a
   * no-op that returns the existing job (e.g. one background refresh per cache entry).
   */
  deduplicationKey?(input: z.output<Input>): string;
  // Method syntax on purpose: a contract for one input type must still fit AnyJobContract.
  children?(input: z.output<Input>): readonly ChildJob[];
}

/** Any contract, whatever its types. */
export type AnyJobContract = JobContract<string, z.ZodType, z.ZodType>;

/** The validated input type of a contract. */
export type InputOf<C extends AnyJobContract> = z.output<C['input']>;
/** The result type of a contract. */
export type ResultOf<C extends AnyJobContract> = z.output<C['result']>;

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** The attempt timeout of a contract that declares none: above the longest example job (sleep, 10 min). */
export const DEFAULT_JOB_TIMEOUT_MS = 15 * 60_000;

/** How long one attempt of a job type may run. */
export function jobTimeoutMs(contract: AnyJobContract): number {
  return contract.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
}

/** Declares a job type; checks the declaration so a typo fails at start-up, not at run time. */
export function defineJob<Name extends string, Input extends z.ZodType, Result extends z.ZodType>(
  contract: JobContract<Name, Input, Result>,
): JobContract<Name, Input, Result> {
  if (!NAME.test(contract.name)) throw new Error(`job name "${contract.name}" must match ${String(NAME)}`);
  if (!Number.isInteger(contract.retry.attempts) || contract.retry.attempts < 1) {
    throw new Error(`job "${contract.name}": retry.attempts must be a positive integer`);
  }
  const { jitter, delayMs } = contract.retry.backoff;
  if (jitter < 0 || jitter > 1) throw new Error(`job "${contract.name}": retry.backoff.jitter must be within 0..1`);
  if (delayMs < 0) throw new Error(`job "${contract.name}": retry.backoff.delayMs must not be negative`);
  // setTimeout's ceiling; a larger value would fire at once.
  if (
    contract.timeoutMs !== undefined &&
    !(Number.isInteger(contract.timeoutMs) && contract.timeoutMs >= 1 && contract.timeoutMs <= 2 ** 31 - 1)
  ) {
    throw new Error(`job "${contract.name}": timeoutMs must be a positive integer of at most 2^31-1`);
  }
  if (contract.priority !== undefined && (!Number.isInteger(contract.priority) || contract.priority < 1)) {
    throw new Error(`job "${contract.name}": priority must be a positive integer`);
  }
  return Object.freeze(contract);
}

/** A typed child for a flow contract's `children`. */
export function childJob<C extends AnyJobContract>(contract: C, input: InputOf<C>): ChildJob {
  return { contract, input };
}
