import { readFile } from 'node:fs/promises';

// Linux reports process times in clock ticks; 100 per second on every mainstream kernel build.
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux).
 * Undefined elsewhere or once the process is gone.
 */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Runs `during` and adds the CPU seconds process `pid` used meanwhile to what it returns. */
export async function withCpu<T extends object>(
  pid: number,
  during: () => Promise<T>,
): Promise<T & { readonly cpuSeconds: number }> {
  const before = await processCpuSeconds(pid);
  const result = await during();
  const after = await processCpuSeconds(pid);
  if (before === undefined || after === undefined)
    throw new Error(`process ${pid} has no CPU times in /proc (it exited, or this is not Linux)`);
  return { ...result, cpuSeconds: after - before };
}
