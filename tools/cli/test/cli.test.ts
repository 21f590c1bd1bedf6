import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isolatedServiceEnv, spawnWeb, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The command line as a user runs it: a separate node process talking to real web and worker processes.
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const ADMIN_TOKEN = 'cli-test-admin-token-0123456789';
let web: ServiceHandle;
let worker: ServiceHandle;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function flotilla(args: readonly string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd,
      env: { ...process.env, FLOTILLA_URL: web.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
  // The worker's profiles may be 1 MB at most: enough for its CPU and sampling profiles, too
  // little for a heap snapshot, which is how a profile that fails is tested.
  [web, worker] = await Promise.all([spawnWeb({ ...env, ADMIN_TOKEN }), spawnWorker({ ...env, PROFILE_MAX_MB: '1' })]);
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

async function finalState(id: string): Promise<{ state: string; attemptsMade: number }> {
  for (;;) {
    const job = JSON.parse((await flotilla(['job', id, '--json'])).stdout) as { state: string; attemptsMade: number };
    if (job.state === 'completed' || job.state === 'failed') return job;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('flotilla read commands', () => {
  it('queues lists every queue with its counts and the jobs finished per minute', async () => {
    type Queues = { name: string; throughput: { completed: number[]; failed: number[] } }[];
    // The earlier tests' jobs finished in this minute or the one before: they are on the last entries.
    const recent = (queues: Queues, name: string): number =>
      queues
        .find((q) => q.name === name)
        ?.throughput.completed.slice(-2)
        .reduce((a, b) => a + b, 0) ?? 0;
    // The worker writes its counts of finished jobs a moment (at most 2 s) after they finish.
    const queues = (await waitFor(
      async () => {
        const run = await flotilla(['queues', '--json']);
        expect(run.code).toBe(0);
        const listed = JSON.parse(run.stdout) as Queues;
        return recent(listed, 'default') >= 1 && recent(listed, 'cpu') >= 1 ? listed : undefined;
      },
      { timeoutMs: 10_000, description: 'the earlier jobs counted' },
    )) as Queues;
    expect(queues.map((q) => q.name)).toEqual(['default', 'cpu', 'background', 'outbound']);
    expect(queues[0]?.throughput.completed).toHaveLength(15);
    expect((await flotilla(['queues'])).stdout).toMatch(
      /^queue\s+waiting\s+active\s+delayed\s+failed\s+completed\s+done\/min/,
    );
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

describe('flotilla queues with sharded queues (QUEUE_SHARDS=3)', () => {
  let sharded: ServiceHandle;
  const at = (): Record<string, string> => ({ FLOTILLA_URL: sharded.url });
  /** The table's rows as cells, the header left out: cells are two or more spaces apart, a row's indent stays. */
  const tableRows = (stdout: string): string[][] =>
    stdout
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/(?<=\S) {2,}/));

  // A web alone is all the listing needs, and with no worker the jobs stay waiting, one per shard.
  beforeAll(async () => {
    sharded = await spawnWeb({ ...isolatedServiceEnv(inject('redisUrl')), QUEUE_SHARDS: '3' });
    // One web picks the shards in turn: three jobs land on three shards.
    for (let i = 0; i < 3; i++) expect((await flotilla(['enqueue', 'sleep', '{"ms":1}'], at())).code).toBe(0);
  });
  afterAll(async () => {
    await sharded?.stop();
  });

  it('lists one row per logical queue, its figures added up over the shards', async () => {
    const run = await flotilla(['queues'], at());
    expect(run.code, run.stderr).toBe(0);
    const rows = tableRows(run.stdout);
    expect(rows.map(([name]) => name)).toEqual(['default', 'cpu', 'background', 'outbound']);
    expect(rows[0]?.[1]).toBe('3');
  });

  it('--shards adds an indented row per shard under each queue', async () => {
    const run = await flotilla(['queues', '--shards'], at());
    expect(run.code, run.stderr).toBe(0);
    const rows = tableRows(run.stdout);
    const logical = rows.filter(([name]) => !name?.startsWith(' '));
    expect(logical.map(([name]) => name)).toEqual(['default', 'cpu', 'background', 'outbound']);
    expect(rows).toHaveLength(4 * 4);
    const [queue, ...shards] = rows.slice(0, 4);
    expect(queue?.slice(0, 2)).toEqual(['default', '3']);
    // Name (index and key prefix) and waiting; the throughput columns are per queue, so empty.
    expect(shards.map((row) => row[0])).toEqual([
      expect.stringMatching(/^ {2}shard 0 \{.+\}$/),
      expect.stringMatching(/^ {2}shard 1 \{.+\}$/),
      expect.stringMatching(/^ {2}shard 2 \{.+\}$/),
    ]);
    expect(shards.map((row) => row[1])).toEqual(['1', '1', '1']);
  });

  it('--json gives the shards as the API does, with or without --shards', async () => {
    type Queue = {
      name: string;
      counts: { waiting: number };
      shards?: { prefix: string; counts: { waiting: number } }[];
    };
    for (const args of [
      ['queues', '--json'],
      ['queues', '--json', '--shards'],
    ]) {
      const run = await flotilla(args, at());
      expect(run.code, run.stderr).toBe(0);
      const [queue] = JSON.parse(run.stdout) as Queue[];
      expect(queue).toMatchObject({ name: 'default', counts: { waiting: 3 } });
      expect(queue?.shards?.map((shard) => shard.counts.waiting)).toEqual([1, 1, 1]);
      expect(new Set(queue?.shards?.map((shard) => shard.prefix)).size).toBe(3);
    }
  });

  it('--shards changes nothing for unsharded queues', async () => {
    const run = await flotilla(['queues', '--shards']);
    expect(run.code, run.stderr).toBe(0);
    expect(tableRows(run.stdout).map(([name]) => name)).toEqual(['default', 'cpu', 'background', 'outbound']);
  });
});

describe('flotilla admin commands', () => {
  const admin = { FLOTILLA_ADMIN_TOKEN: ADMIN_TOKEN };

  it('jobs lists failed jobs, retry brings one back, retry --all the rest', async () => {
    const ids = await Promise.all(
      [0, 1].map(
        async () =>
          (JSON.parse((await flotilla(['enqueue', 'flaky', '{"failTimes":4}', '--json'])).stdout) as { id: string }).id,
      ),
    );
    for (const id of ids) expect(await finalState(id)).toMatchObject({ state: 'failed', attemptsMade: 4 });

    const listed = await flotilla(['jobs', 'default', '--state', 'failed', '--json'], admin);
    expect(listed.code, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout) as { total: number; jobs: { id: string }[] };
    expect(page.jobs.map((j) => j.id)).toEqual(expect.arrayContaining(ids));
    expect((await flotilla(['jobs', 'default'], admin)).stdout.trim()).toMatch(
      /^id\s+type\s+state[\s\S]*of \d+ failed$/,
    );

    // The fifth attempt is past failTimes, so a retried flaky job succeeds.
    const retried = await flotilla(['retry', ids[0] ?? '', '--json'], admin);
    expect(retried.code, retried.stderr).toBe(0);
    expect(await finalState(ids[0] ?? '')).toMatchObject({ state: 'completed' });

    const again = await flotilla(['retry', ids[0] ?? ''], admin);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('409');

    const all = await flotilla(['retry', '--all', 'default', '--json'], admin);
    expect(all.code, all.stderr).toBe(0);
    expect((JSON.parse(all.stdout) as { retried: number }).retried).toBeGreaterThanOrEqual(1);
    expect(await finalState(ids[1] ?? '')).toMatchObject({ state: 'completed' });
  });

  it('refuses without the admin credentials (exit 3) and names a bad state', async () => {
    const anonymous = await flotilla(['jobs', 'default']);
    expect(anonymous.code).toBe(3);
    expect(anonymous.stderr).toContain('401');
    const wrong = await flotilla(['jobs', 'default', '--state', 'lost'], admin);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('state: expected one of');
    expect((await flotilla(['jobs', 'nope'], admin)).stderr).toContain('404');
  });
});

/** The type of each top-level field of a JSON file ('array' for arrays), to check a profile's format. */
async function fieldTypes(path: string): Promise<Record<string, string>> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(parsed).map(([key, value]) => [key, Array.isArray(value) ? 'array' : typeof value]),
  );
}

describe('flotilla profile', () => {
  const admin = { FLOTILLA_ADMIN_TOKEN: ADMIN_TOKEN };
  let dir: string;
  const memberId = async (group: 'web' | 'worker'): Promise<string> => {
    const groups = JSON.parse((await flotilla(['workers', '--json'])).stdout) as Record<string, { id: string }[]>;
    const id = groups[group]?.[0]?.id;
    if (!id) throw new Error(`no ${group} member listed`);
    return id;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-profile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves a CPU profile of a worker to --out, showing the recording and the download on stderr', async () => {
    const cwd = await mkdtemp(join(dir, 'cpu-'));
    const out = join(cwd, 'worker.cpuprofile');
    const run = await flotilla(
      ['profile', await memberId('worker'), '--cpu', '--seconds', '2', '--out', out, '--json'],
      admin,
    );
    expect(run.code, run.stderr).toBe(0);
    const saved = JSON.parse(run.stdout) as { path: string; bytes: number; profile: { kind: string; state: string } };
    expect(saved).toMatchObject({ path: out, profile: { kind: 'cpu', state: 'done' } });
    expect((await stat(out)).size).toBe(saved.bytes);
    expect(await fieldTypes(out)).toMatchObject({
      nodes: 'array',
      samples: 'array',
      startTime: 'number',
      endTime: 'number',
    });
    // Not a terminal: a line per change, from the recording to the whole file downloaded.
    expect(run.stderr).toMatch(/recording [0-2]\/2 s/);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/\[#{30}\] 100% downloading$/);
    // Only the profile is left: the temporary file it was written to has been renamed.
    expect(await readdir(cwd)).toEqual(['worker.cpuprofile']);
  });

  it('saves a heap snapshot of the web under the file name the API gives, printing path and size', async () => {
    const cwd = await mkdtemp(join(dir, 'snapshot-'));
    const run = await flotilla(['profile', await memberId('web'), '--heap'], admin, cwd);
    expect(run.code, run.stderr).toBe(0);
    const [name, ...others] = await readdir(cwd);
    expect(others).toEqual([]);
    expect(name).toMatch(/\.heapsnapshot$/);
    const path = join(cwd, name ?? '');
    expect(run.stdout.slice(0, path.length)).toBe(path);
    expect(run.stdout.slice(path.length)).toMatch(/^ \d+\.\d [kMG]B\n$/);
    expect(await fieldTypes(path)).toMatchObject({
      snapshot: 'object',
      nodes: 'array',
      edges: 'array',
      strings: 'array',
    });
  });

  it('saves a sampling heap profile', async () => {
    const out = join(await mkdtemp(join(dir, 'sampling-')), 'worker.heapprofile');
    const run = await flotilla(
      ['profile', await memberId('worker'), '--heap-sampling', '--seconds', '1', '--out', out],
      admin,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(await fieldTypes(out)).toMatchObject({ head: 'object', samples: 'array' });
  });

  it('exits 1 with the reason when the profile fails, and leaves no file', async () => {
    const cwd = await mkdtemp(join(dir, 'failed-'));
    const run = await flotilla(['profile', await memberId('worker'), '--heap'], admin, cwd);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/failed: the profile is larger than the 1 MB allowed \(PROFILE_MAX_MB\)\n$/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('exits 1 before asking when --out is in a directory that does not exist', async () => {
    const run = await flotilla(
      ['profile', await memberId('web'), '--heap', '--out', join(dir, 'missing', 'web.heapsnapshot')],
      admin,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot write to ${join(dir, 'missing')}`);
    expect(run.stderr).not.toContain('requested');
  });

  it('refuses an unknown process (exit 3) with the problem detail, and leaves no file', async () => {
    const run = await flotilla(
      ['profile', 'no-such-process', '--heap-sampling', '--seconds', '1', '--out', join(dir, 'none.heapprofile')],
      admin,
    );
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('404');
    expect(run.stderr).toContain('no live process with the id "no-such-process"');
    expect(await readdir(dir)).not.toContain('none.heapprofile');
  });

  it('refuses wrong admin credentials (exit 3)', async () => {
    const run = await flotilla(['profile', await memberId('web'), '--cpu', '--seconds', '1'], {
      FLOTILLA_ADMIN_TOKEN: 'not-the-admin-token-0123456789',
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('401');
  });
});

describe('flotilla bench', () => {
  it('submits N jobs, waits for all of them and reports rates and latencies', async () => {
    const run = await flotilla(['bench', '--count', '60', '--concurrency', '6', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      count: number;
      completed: number;
      failed: number;
      submitsPerSecond: number;
      jobsPerSecond: number;
      endToEndMs: { p50: number; p99: number };
    };
    expect(report).toMatchObject({ count: 60, completed: 60, failed: 0 });
    expect(report.submitsPerSecond).toBeGreaterThan(0);
    expect(report.jobsPerSecond).toBeGreaterThan(0);
    expect(report.endToEndMs.p99).toBeGreaterThanOrEqual(report.endToEndMs.p50);
    expect((await flotilla(['bench', '--count', '5', '--type', 'fib', '--input', '{"n":20}'])).stdout).toMatch(
      /submitted 5 fib[\s\S]*completed 5, failed 0/,
    );
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
    [['jobs'], 'jobs needs one queue name'],
    [['retry'], 'retry needs a job id'],
    [['bench', '--count', '0'], '--count: expected a whole number from 1'],
    [['bench', '--input', '{'], '--input is not valid JSON'],
    [['jobs', 'default', '--admin-user', 'nobody'], '--admin-user: expected USER:PASSWORD'],
    [['profile', '--cpu'], 'profile needs one process id'],
    [['profile', 'web-1', 'worker-1', '--cpu'], 'profile needs one process id'],
    [['profile', 'web-1'], 'profile needs exactly one of --cpu, --heap, --heap-sampling'],
    [['profile', 'web-1', '--cpu', '--heap-sampling'], 'profile needs exactly one of --cpu, --heap, --heap-sampling'],
    [['profile', 'web-1', '--cpu', '--seconds', '0'], '--seconds: expected a whole number from 1'],
    [['profile', 'web-1', '--heap-sampling', '--seconds', '2.5'], '--seconds: expected a whole number from 1'],
    [['profile', 'web-1', '--heap', '--seconds', '5'], '--seconds goes with --cpu or --heap-sampling'],
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
    expect((await flotilla(['profile', 'web-1', '--cpu'], { FLOTILLA_URL: 'http://127.0.0.1:9' })).code).toBe(4);
  });
});
