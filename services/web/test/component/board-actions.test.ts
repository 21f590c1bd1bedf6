import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BOARD_ACTIONS } from '@flotilla/config';
import { describe, expect, it } from 'vitest';
import { boardActionOf } from '../../src/routes/board-actions.js';

// bull-board's changing routes, read from the installed package: an upgrade that adds one fails
// here until it is given a kind (the guard refuses unknown changes meanwhile).
async function changingRoutes(): Promise<string[]> {
  // The package's main entry sits in its dist folder, beside routes.js.
  const dist = dirname(createRequire(import.meta.url).resolve('@bull-board/api'));
  const source = await readFile(join(dist, 'routes.js'), 'utf8');
  return [...source.matchAll(/method: '(?:put|post|patch|delete)',\s*route: '([^']+)'/g)].map((m) => m[1] ?? '');
}

describe('bull-board actions', () => {
  it('gives every route of the installed bull-board that changes something a kind', async () => {
    const routes = await changingRoutes();
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) {
      const concrete = route.replace('/api', '').replace(/:[A-Za-z]+/g, 'x');
      expect(boardActionOf(concrete), route).toBeDefined();
    }
  });

  it('sorts them into the kinds DASHBOARD_ACTIONS names', () => {
    expect(boardActionOf('/queues/default/j1/retry')).toBe('retry');
    expect(boardActionOf('/queues/default/retry/failed')).toBe('retry');
    expect(boardActionOf('/queues/default/j1/clean')).toBe('remove');
    expect(boardActionOf('/queues/default/clean/completed')).toBe('clean');
    expect(boardActionOf('/queues/default/obliterate')).toBe('obliterate');
    expect(boardActionOf('/queues/pause')).toBe('pause');
    expect(boardActionOf('/queues/default/j1/update-data')).toBe('edit');
    expect(boardActionOf('/queues/default/something-new')).toBeUndefined();
    expect(BOARD_ACTIONS).toEqual(expect.arrayContaining(['retry', 'promote', 'remove', 'obliterate']));
  });
});
