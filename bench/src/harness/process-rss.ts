import { readFile } from 'node:fs/promises';

/** Resident set size of a process in MiB, read from /proc (Linux); undefined elsewhere or once it is gone. */
export async function processRssMiB(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) / 1024;
  } catch {
    return undefined;
  }
}
