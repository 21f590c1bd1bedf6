import type { z } from 'zod';

/** No job type of that name is declared. */
export class UnknownJobTypeError extends Error {
  constructor(readonly type: string) {
    super(`unknown job type "${type}"`);
    this.name = 'UnknownJobTypeError';
  }
}

/** The input does not match the job type's schema; nothing was enqueued. */
export class JobInputError extends Error {
  constructor(
    readonly type: string,
    readonly issues: readonly z.core.$ZodIssue[],
  ) {
    super(`invalid input for job type "${type}": ${describeIssues(issues)}`);
    this.name = 'JobInputError';
  }
}

/** An Idempotency-Key was reused with a different job type or input. */
export class IdempotencyConflictError extends Error {
  constructor(readonly jobId: string) {
    super('this Idempotency-Key was already used for a different request');
    this.name = 'IdempotencyConflictError';
  }
}

/** An attempt ran past its job type's timeout; like any failure it is retried while attempts remain. */
export class JobTimeoutError extends Error {
  constructor(
    readonly type: string,
    readonly timeoutMs: number,
  ) {
    super(`job type "${type}" ran longer than its ${timeoutMs} ms timeout`);
    this.name = 'JobTimeoutError';
  }
}

/** One line describing schema issues, each as `path: message`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** The queue Redis is too full to take another job; nothing was enqueued, and a retry later may succeed. */
export class QueueFullError extends Error {
  constructor(readonly usedRatio: number) {
    super(
      `the queue Redis uses ${Math.round(usedRatio * 100)}% of its maxmemory; submissions resume once it drops below the limit`,
    );
    this.name = 'QueueFullError';
  }
}
