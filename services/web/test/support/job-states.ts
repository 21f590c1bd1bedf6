import { waitFor } from '@flotilla/testkit';

/**
 * The state of each job as the web reports it (`missing` for a 404), asking a few at a time so
 * hundreds of ids do not open hundreds of sockets.
 */
export async function jobStates(baseUrl: string, ids: readonly string[], parallel = 16): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  const queue = [...ids];
  const ask = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const response = await fetch(`${baseUrl}/api/jobs/${id}`, { signal: AbortSignal.timeout(10_000) });
      states.set(id, response.status === 404 ? 'missing' : ((await response.json()) as { state: string }).state);
    }
  };
  await Promise.all(Array.from({ length: parallel }, ask));
  return states;
}

/** The ids whose job has not completed (yet), with their states. */
export async function notCompleted(baseUrl: string, ids: readonly string[]): Promise<Map<string, string>> {
  const states = await jobStates(baseUrl, ids);
  return new Map([...states].filter(([, state]) => state !== 'completed'));
}

/**
 * Waits until every one of `ids` has completed or is missing (lost), and returns those that
 * have not completed: after a fault, what was accepted must either run or be counted as lost.
 */
export async function settledJobs(
  baseUrl: string,
  ids: () => readonly string[],
  timeoutMs = 60_000,
): Promise<Map<string, string>> {
  let pending = new Map<string, string>();
  await waitFor(
    async () => {
      pending = await notCompleted(baseUrl, ids());
      return [...pending.values()].every((state) => state === 'missing');
    },
    { timeoutMs, intervalMs: 500, description: 'every accepted job completed or missing' },
  );
  return pending;
}
