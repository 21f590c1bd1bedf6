import { onTestFinished } from 'vitest';

/** Closes `thing` when the current test finishes, passed or failed. */
export function closeWhenDone<T extends { close(): Promise<void> }>(thing: T): T {
  onTestFinished(() => thing.close());
  return thing;
}
