import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isolatedServiceEnv, spawnWeb, spawnWorker, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The command line as a user runs it: a separate node process talking to real web and worker processes.
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let web: ServiceHandle;
let worker: ServiceHandle;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function flotilla(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, FLOTILLA_URL: web.url, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const env = isolatedServiceEnv(inject('redisUrl'));
  [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
});

afterAll(async () => {
  await Promise.all([web?.stop(), worker?.stop()]);
});

describe('flotilla enqueue', () => {
  it('--wait follows the job to its end with progress, prints the result, exits 0', async () => {
    const run = await flotilla(['enqueue', 'sleep', '{"ms":300,"steps":3}', '--wait']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ sleptMs: 300, steps: 3 });
    // Not a terminal: one line per change, ending at 100 %.
    const lines = run.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.at(-1)).toMatch(/\[#{30}\] 100% completed$/);
  });

  it('exits 1 with the error when the job fails', async () => {
    const run = await flotilla(['enqueue', 'flaky', '{"failTimes":10}', '--wait', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ state: 'failed', attemptsMade: 4 });
  });

  it('without --wait prints the id, which `job` then reads', async () => {
    const submitted = await flotilla(['enqueue', 'fib', '{"n":10}', '--json']);
    expect(submitted.code).toBe(0);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    let job: { state: string; result?: unknown } = { state: 'waiting' };
    for (let i = 0; i < 50 && job.state !== 'completed'; i++) {
      job = JSON.parse((await flotilla(['job', id, '--json'])).stdout) as typeof job;
      if (job.state !== 'completed') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(job).toMatchObject({ state: 'completed', result: { n: 10, value: '55' } });
    const text = await flotilla(['job', id]);
    expect(text.stdout).toMatch(/^id\s+type\s+state/);
    expect(text.stdout).toContain('completed');
  });

  it('exits 3 and names the field when the API refuses the input', async () => {
    const run = await flotilla(['enqueue', 'fib', '{"n":"ten"}']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('422');
    expect(run.stderr).toContain('#/n');
  });
});

describe('flotilla read commands', () => {
  it('queues lists every queue with its counts', async () => {
    const run = await flotilla(['queues', '--json']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { name: string }[]).map((q) => q.name)).toEqual(['default', 'cpu', 'background', 'outbound']);
    expect((await flotilla(['queues'])).stdout).toMatch(/^queue\s+waiting\s+active/);
  });

  it('workers lists the live processes from the membership', async () => {
    const run = await flotilla(['workers', '--json']);
    const groups = JSON.parse(run.stdout) as Record<string, { capabilities: Record<string, string> }[]>;
    expect(groups['worker']?.map((m) => m.capabilities['pid'])).toEqual([String(worker.pid)]);
    expect(groups['web']?.map((m) => m.capabilities['pid'])).toEqual([String(web.pid)]);
  });

  it('cache stats lists each cache', async () => {
    const run = await flotilla(['cache', 'stats', '--minutes', '5']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^cache\s+hits\s+misses/);
  });
});

describe('flotilla errors', () => {
  it.each([
    [[], 'a command is needed'],
    [['launch'], 'unknown command "launch"'],
    [['enqueue', 'fib'], 'enqueue needs a job type and its input as JSON'],
    [['enqueue', 'fib', '{n:1}'], 'the job input is not valid JSON'],
    [['cache', 'clear'], 'the cache command is "cache stats"'],
    [['queues', '--colour'], "Unknown option '--colour'"],
  ])('%j exits 2 with usage', async (args, message) => {
    const run = await flotilla(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: flotilla');
  });

  it('exits 4 when nothing answers at the URL', async () => {
    const run = await flotilla(['queues'], { FLOTILLA_URL: 'http://127.0.0.1:9' });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('cannot reach http://127.0.0.1:9');
  });
});
