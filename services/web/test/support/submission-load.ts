import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { settledJobs } from './job-states.js';

/** One job submission the load sent, and how it ended. */
export interface Submission {
  /** Date.now() when the request was sent and when its answer (or failure) arrived. */
  readonly sentAt: number;
  readonly answeredAt: number;
  /** HTTP status, or undefined when no answer came (connection error, or no answer in time). */
  readonly status: number | undefined;
  /** The job id of a 202. */
  readonly id?: string;
  readonly retryAfter?: string | null;
  /** `type` of a problem body. */
  readonly problemType?: string;
  /** Why no answer came. */
  readonly error?: string;
}

/** How `SubmissionLoad` submits. */
export interface SubmissionLoadOptions {
  /** Requests in flight at once (one loop each). */
  readonly concurrency?: number;
  /** Pause of each loop between requests, so an outage answered at once is not a busy loop. */
  readonly pauseMs?: number;
  /** A request without an answer after this long counts as hung. */
  readonly timeoutMs?: number;
  readonly type?: string;
  readonly input?: unknown;
}

/**
 * Steady job submissions against a web process, every one recorded: the fault tests check the
 * answers (202 or 503 only, none hung) and that every 202 was kept.
 */
export class SubmissionLoad {
  readonly submissions: Submission[] = [];
  readonly #loops: Promise<void>[] = [];
  #running = false;
  readonly #listeners = new Set<(submission: Submission) => void>();

  constructor(
    private readonly baseUrl: string,
    private readonly options: SubmissionLoadOptions = {},
  ) {}

  /** Starts the loops. */
  start(): void {
    this.#running = true;
    for (let i = 0; i < (this.options.concurrency ?? 4); i++) this.#loops.push(this.#loop());
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops.splice(0));
  }

  /** Ids of every submission answered 202. */
  acceptedIds(): string[] {
    return this.submissions.flatMap((s) => (s.status === 202 && s.id ? [s.id] : []));
  }

  /**
   * The accepted submissions whose job is gone, once every accepted job has completed or gone
   * missing: after a fault, what was accepted must either run or be counted as lost.
   */
  async lostAccepted(): Promise<Submission[]> {
    const pending = await settledJobs(this.baseUrl, () => this.acceptedIds());
    return this.submissions.filter((s) => s.status === 202 && s.id !== undefined && pending.has(s.id));
  }

  /** How many submissions ended with each status ("none" for no answer). */
  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { status } of this.submissions)
      counts[String(status ?? 'none')] = (counts[String(status ?? 'none')] ?? 0) + 1;
    return counts;
  }

  /** Resolves with the first submission after `since` that matches. */
  async next(match: (submission: Submission) => boolean, since = Date.now(), timeoutMs = 30_000): Promise<Submission> {
    const found = this.submissions.find((s) => s.sentAt >= since && match(s));
    if (found) return found;
    return await new Promise<Submission>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(
          new Error(
            `no matching submission within ${timeoutMs} ms; answers so far by status: ${JSON.stringify(this.statusCounts())}`,
          ),
        );
      }, timeoutMs);
      const listener = (submission: Submission): void => {
        if (submission.sentAt < since || !match(submission)) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(submission);
      };
      this.#listeners.add(listener);
    });
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      const submission = await this.#submit();
      this.submissions.push(submission);
      for (const listener of [...this.#listeners]) listener(submission);
      await sleep(this.options.pauseMs ?? 10);
    }
  }

  async #submit(): Promise<Submission> {
    const sentAt = Date.now();
    try {
      const response = await fetch(`${this.baseUrl}/api/jobs/${this.options.type ?? 'sleep'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(this.options.input ?? { ms: 5, steps: 1 }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      const body = (await response.json()) as { id?: string; type?: string };
      return {
        sentAt,
        answeredAt: Date.now(),
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        ...(response.status === 202 && body.id ? { id: body.id } : {}),
        ...(response.status >= 400 && body.type ? { problemType: body.type } : {}),
      };
    } catch (error) {
      // fetch says only "fetch failed"; the cause tells a refused connection from a reset one.
      const cause = (error as Error & { cause?: { code?: string } }).cause?.code;
      return {
        sentAt,
        answeredAt: Date.now(),
        status: undefined,
        error: cause ? `${(error as Error).message} (${cause})` : (error as Error).message,
      };
    }
  }
}

/** The fault tests' rule for answers during an outage: every request answered, with 202 or 503 only. */
export function expectAcceptedOrUnavailable(submissions: readonly Submission[]): void {
  expect(
    submissions.filter((s) => s.status === undefined),
    'requests without an answer',
  ).toEqual([]);
  expect(
    submissions.filter((s) => s.status !== 202 && s.status !== 503),
    'statuses other than 202 and 503',
  ).toEqual([]);
}
