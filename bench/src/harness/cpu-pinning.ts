import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Pins a process and all its threads to one CPU with `taskset` (util-linux). A benchmark that
 * measures what a service can do per core gives the service a core of its own and leaves the
 * other to the load generator and Redis: on a shared 2-core machine the three otherwise compete
 * for the same cores, and a cost in the service shows up diluted and noisy. Resolves false, and
 * changes nothing, when there is no second CPU or no taskset.
 */
export async function pinToCpu(pid: number, cpu: number): Promise<boolean> {
  if (availableParallelism() < 2) return false;
  try {
    await run('taskset', ['--all-tasks', '--pid', '--cpu-list', String(cpu), String(pid)]);
    return true;
  } catch {
    return false;
  }
}
