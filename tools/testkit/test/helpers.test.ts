import { describe, expect, it } from 'vitest';
import { serviceEntry, uniqueQueuePrefix, waitFor } from '../src/index.js';

describe('uniqueQueuePrefix', () => {
  it('is a Redis Cluster hash tag and differs per call', () => {
    const prefix = uniqueQueuePrefix();
    expect(prefix).toMatch(/^\{t-[0-9a-f]{12}\}$/);
    expect(uniqueQueuePrefix()).not.toBe(prefix);
  });
});

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? `after ${calls}` : undefined), { intervalMs: 5 });
    expect(value).toBe('after 3');
  });

  it('treats a throwing attempt as not yet and quotes it on timeout', async () => {
    const attempt = waitFor(
      () => {
        throw new Error('queue is empty');
      },
      { timeoutMs: 100, intervalMs: 10, description: 'a job' },
    );
    await expect(attempt).rejects.toThrow('a job not met within 100 ms; last error: queue is empty');
  });
});

describe('serviceEntry', () => {
  it("resolves the services' entry points from the repository root, not the cwd", () => {
    const root = new URL('../../../', import.meta.url).pathname;
    expect(serviceEntry('web')).toBe(`${root}services/web/dist/main.js`);
    expect(serviceEntry('worker')).toBe(`${root}services/worker/dist/main.js`);
  });
});
