/**
 * Calls `task(0)` … `task(count - 1)` with at most `concurrency` calls in flight, the way a
 * busy web process has a bounded number of requests open, and rejects on the first failure.
 */
export async function runConcurrently(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
