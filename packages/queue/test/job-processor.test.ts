import { UnrecoverableError, type JobProgress } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  JobCatalog,
  JobTimeoutError,
  createJobProcessor,
  defineHandler,
  defineJob,
  defineQueue,
  type JobContext,
  type ProcessableJob,
} from '../src/index.js';

const queue = defineQueue({ name: 'work', description: 'test queue', concurrency: 1, processor: 'inline' });
const retry = { attempts: 3, backoff: { type: 'fixed', delayMs: 10, jitter: 0 } } as const;
const add = defineJob({
  name: 'add',
  queue: 'work',
  description: 'adds',
  input: z.object({ a: z.number(), b: z.number() }),
  result: z.number(),
  retry,
});
const slow = defineJob({
  name: 'slow',
  queue: 'work',
  description: 'never settles on its own',
  input: z.object({}),
  result: z.null(),
  retry,
  timeoutMs: 50,
});
const catalog = new JobCatalog([queue], [add, slow]);

/** A job as BullMQ hands it to the processor, recording what the handler did through it. */
function job(name: string, data: unknown, overrides: Partial<ProcessableJob> = {}) {
  const progress: JobProgress[] = [];
  const logs: string[] = [];
  const processable: ProcessableJob = {
    id: 'work.abc',
    name,
    data,
    attemptsMade: 1,
    opts: { attempts: 3 },
    updateProgress: (value) => {
      progress.push(value);
      return Promise.resolve();
    },
    log: (row) => logs.push(row),
    getChildrenValues: () => Promise.resolve({ child: 1 }),
    ...overrides,
  };
  return { processable, progress, logs };
}

describe('createJobProcessor', () => {
  it('hands a synchronous handler the checked input and the attempt, and answers its result', async () => {
    let seen: JobContext | undefined;
    const process = createJobProcessor(
      catalog,
      [],
      [
        defineHandler(add, ({ a, b }, context) => {
          seen = context;
          return a + b;
        }),
      ],
    );
    await expect(process(job('add', { a: 2, b: 3 }).processable)).resolves.toBe(5);
    expect(seen).toMatchObject({ id: 'work.abc', attempt: 2, maxAttempts: 3, scheduledAt: undefined });
  });

  it('lets an asynchronous handler report progress, log and read child results, even through destructured methods', async () => {
    const { processable, progress, logs } = job('add', { a: 1, b: 1 });
    const process = createJobProcessor(
      catalog,
      [],
      [
        defineHandler(add, async ({ a, b }, { reportProgress, log, childResults }) => {
          await reportProgress(50);
          await log('halfway');
          const children = await childResults();
          return a + b + Object.keys(children).length;
        }),
      ],
    );
    await expect(process(processable)).resolves.toBe(3);
    expect(progress).toEqual([50]);
    expect(logs).toEqual(['halfway']);
  });

  it('passes on what a handler throws, synchronously or by rejecting', async () => {
    const boom = new Error('boom');
    const throwing = createJobProcessor(
      catalog,
      [],
      [
        defineHandler(add, () => {
          throw boom;
        }),
      ],
    );
    await expect(throwing(job('add', { a: 1, b: 1 }).processable)).rejects.toBe(boom);
    const rejecting = createJobProcessor(catalog, [], [defineHandler(add, () => Promise.reject(boom))]);
    await expect(rejecting(job('add', { a: 1, b: 1 }).processable)).rejects.toBe(boom);
  });

  it('fails data that does not match the schema, and an unknown type, without retries and without calling a handler', async () => {
    let calls = 0;
    const process = createJobProcessor(
      catalog,
      [],
      [
        defineHandler(add, ({ a, b }) => {
          calls++;
          return a + b;
        }),
      ],
    );
    await expect(process(job('add', { a: 'one', b: 1 }).processable)).rejects.toThrow(UnrecoverableError);
    await expect(process(job('add', { a: 'one', b: 1 }).processable)).rejects.toThrow(/"add" schema: a:/);
    await expect(process(job('nope', {}).processable)).rejects.toThrow(UnrecoverableError);
    expect(calls).toBe(0);
  });

  it('ends an attempt that outlives its timeout with JobTimeoutError and aborts the signal the handler holds', async () => {
    let signal: AbortSignal | undefined;
    const process = createJobProcessor(
      catalog,
      [],
      [
        defineHandler(slow, (_input, context) => {
          signal = context.signal;
          // Ignores the signal on purpose: the timeout must end the attempt anyway.
          return new Promise<null>(() => {});
        }),
      ],
    );
    const outcome = process(job('slow', {}).processable);
    await expect(outcome).rejects.toThrow(JobTimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(JobTimeoutError);
  });

  it('hands a signal that is already aborted to a handler that asks for it only after its timeout', async () => {
    let late: AbortSignal | undefined;
    const process = createJobProcessor(
      catalog,
      [],
      [
        defineHandler(slow, (_input, context) => {
          setTimeout(() => (late = context.signal), 100);
          return new Promise<null>(() => {});
        }),
      ],
    );
    await expect(process(job('slow', {}).processable)).rejects.toThrow(JobTimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(late?.aborted).toBe(true);
  });

  it('reads the slot a job scheduler run was due at from its id', async () => {
    let scheduledAt: number | undefined;
    const process = createJobProcessor(
      catalog,
      [],
      [
        defineHandler(add, ({ a }, context) => {
          scheduledAt = context.scheduledAt;
          return a;
        }),
      ],
    );
    await process(job('add', { a: 1, b: 0 }, { id: 'repeat:check:1767225600000', repeatJobKey: 'check' }).processable);
    expect(scheduledAt).toBe(1_767_225_600_000);
  });
});
