import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What to load with wrk. */
export interface WrkOptions {
  readonly url: string;
  readonly durationSeconds: number;
  readonly connections: number;
  /** The CPU wrk runs on (taskset); any when undefined. */
  readonly cpu?: number | undefined;
}

/** Throughput of one wrk run, its latency in milliseconds, and the CPU wrk itself used. */
export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  /** User + system seconds of wrk, from the shell's `times` after it exited. */
  readonly generatorCpuSeconds: number;
}

/** Whether wrk (Debian's package `wrk`) can be run here. */
export async function hasWrk(): Promise<boolean> {
  try {
    await run('wrk', ['--version']);
    return true;
  } catch (error) {
    // wrk --version prints its banner and exits 1.
    return (error as { code?: unknown }).code === 1;
  }
}

/**
 * Loads `url` with wrk (one thread, keep-alive connections). Any socket error or non-2xx answer
 * throws, as the autocannon harness does: the figures would describe an error page.
 */
export async function measureWrk(options: WrkOptions): Promise<WrkResult> {
  const wrk = [
    'wrk',
    '--threads',
    '1',
    '--connections',
    String(options.connections),
    '--duration',
    `${options.durationSeconds}s`,
    '--latency',
    options.url,
  ];
  const command = options.cpu === undefined ? wrk : ['taskset', '--cpu-list', String(options.cpu), ...wrk];
  // The shell's `times` reports its children's CPU once they exited; Node has no such call.
  const { stdout } = await run('bash', ['-c', '"$@"; times', 'wrk-load', ...command], { maxBuffer: 1 << 20 });
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const requestsPerSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  if (!(requests > 0) || !(requestsPerSecond > 0))
    throw new Error(`${options.url}: wrk reported no requests:\n${stdout}`);
  const failures = /(Non-2xx or 3xx responses: \d+|Socket errors: .*)/.exec(stdout);
  if (failures) throw new Error(`${options.url}: ${failures[1]}`);
  const times = stdout.trim().split('\n').at(-1) ?? '';
  const [user, system] = [...times.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (user === undefined || system === undefined) throw new Error(`cannot read wrk's CPU time from "${times}"`);
  return {
    requestsPerSecond,
    requests,
    latencyMs: { p50: latencyMs(stdout, '50%'), p99: latencyMs(stdout, '99%') },
    generatorCpuSeconds: user + system,
  };
}

// A line of wrk's latency distribution, such as "     99%    1.23ms", in milliseconds.
function latencyMs(stdout: string, percentile: string): number {
  const match = new RegExp(`^\\s+${percentile}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(stdout);
  if (!match) throw new Error(`wrk printed no ${percentile} latency`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
  return Number(match[1]) * scale;
}
