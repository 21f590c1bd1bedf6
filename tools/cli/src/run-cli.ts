import { parseArgs } from 'node:util';
import { ApiError, UnreachableError, callApi, type ApiTarget } from './api-client.js';
import { benchJobs } from './bench-jobs.js';
import { followJob } from './follow-job.js';
import { byteSize, table } from './format.js';
import { ProfileFailedError, takeProfile, type ProfileKind } from './profile-command.js';
import { ProgressBar, type ProgressOutput } from './progress-bar.js';

/** Exit codes, so scripts can tell a failed job from a refused request from a dead server. */
export const EXIT = { ok: 0, jobFailed: 1, usage: 2, refused: 3, unreachable: 4 } as const;

/** Where the command line reads its settings and writes its output. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: ProgressOutput;
  readonly stderr: ProgressOutput;
}

const USAGE = `usage: flotilla <command> [options]

  enqueue <type> <json> [--wait] [--idempotency-key K]   submit a job; --wait follows it to the end
  job <id>                                               a job's state, progress, result or error
  jobs <queue> [--state S] [--limit N]                   a queue's jobs in one state (default failed)  [admin]
  retry <id> | retry --all <queue>                       retry a failed job, or every failed job       [admin]
  queues [--shards]                                      counts, jobs done per minute, oldest waiting job;
                                                         --shards adds a row per shard of a sharded queue
  workers                                                live web and worker processes
  cache stats [--minutes N]                              hit ratios per cache
  bench [--type T] [--input JSON] [--count N] [--concurrency C]
                                                         submit N jobs, wait for them, report rates and latencies
  profile <process-id> --cpu|--heap|--heap-sampling [--seconds N] [--out FILE]
                                                         record a CPU profile or heap sampling for N s (default 10), or
                                                         take a heap snapshot, and save it (default: the API's file name)  [admin]

options: --url URL (FLOTILLA_URL, default http://127.0.0.1:3000), --token T (FLOTILLA_TOKEN: the /metrics
         bearer token), --json; admin commands: --admin-token T (FLOTILLA_ADMIN_TOKEN) or
         --admin-user USER:PASSWORD (FLOTILLA_ADMIN_USER)
exit codes: 0 done, 1 a job or profile failed, 2 usage, 3 request refused (4xx), 4 web unreachable or unavailable (5xx)`;

class UsageError extends Error {}

interface ShardFigures {
  counts: Record<string, number>;
  oldestWaitingSeconds: number;
  workers: number;
}
interface Queue extends ShardFigures {
  name: string;
  throughput: { completed: number[]; failed: number[] };
  /** Only for a queue spread over several shards (QUEUE_SHARDS > 1). */
  shards?: (ShardFigures & { prefix: string })[];
}
interface JobView {
  id: string;
  type: string;
  state: string;
  progress: unknown;
  attemptsMade: number;
  result?: unknown;
  error?: string;
  createdAt: string;
}

/** The profile options and the kinds of profile the API names them by. */
const PROFILE_KINDS = { cpu: 'cpu', heap: 'heap-snapshot', 'heap-sampling': 'heap-sampling' } as const satisfies Record<
  string,
  ProfileKind
>;

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** A whole-number option within bounds, or its default. */
function wholeNumber(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max))
    throw new UsageError(`--${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  return value;
}

function parseJson(what: string, json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new UsageError(`${what} is not valid JSON: ${json}`);
  }
}

const jobRow = (job: JobView): (string | number)[] => [
  job.id,
  job.type,
  job.state,
  JSON.stringify(job.progress),
  job.attemptsMade,
  job.error ?? (job.result === undefined ? '' : JSON.stringify(job.result)),
];
const JOB_COLUMNS = ['id', 'type', 'state', 'progress', 'attempts', 'outcome'];
interface Member {
  id: string;
  capabilities: Record<string, string>;
  expiresAt: number;
}
interface Accepted {
  id: string;
  state: string;
  links: { self: string; events: string };
}

/** Runs one command line (without `node` and the script) and resolves with its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean', default: false },
        wait: { type: 'boolean', default: false },
        'idempotency-key': { type: 'string' },
        minutes: { type: 'string' },
        state: { type: 'string' },
        limit: { type: 'string' },
        all: { type: 'boolean', default: false },
        shards: { type: 'boolean', default: false },
        type: { type: 'string' },
        input: { type: 'string' },
        count: { type: 'string' },
        concurrency: { type: 'string' },
        cpu: { type: 'boolean', default: false },
        heap: { type: 'boolean', default: false },
        'heap-sampling': { type: 'boolean', default: false },
        seconds: { type: 'string' },
        out: { type: 'string' },
        'admin-token': { type: 'string' },
        'admin-user': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const baseUrl = values.url ?? io.env['FLOTILLA_URL'] ?? 'http://127.0.0.1:3000';
    if (!URL.canParse(baseUrl)) throw new UsageError(`--url: "${baseUrl}" is not a URL`);
    const token = values.token ?? io.env['FLOTILLA_TOKEN'];
    const target: ApiTarget = { baseUrl, authorization: token ? `Bearer ${token}` : undefined };
    const adminToken = values['admin-token'] ?? io.env['FLOTILLA_ADMIN_TOKEN'];
    const adminUser = values['admin-user'] ?? io.env['FLOTILLA_ADMIN_USER'];
    if (adminUser !== undefined && !adminUser.includes(':'))
      throw new UsageError('--admin-user: expected USER:PASSWORD');
    const admin: ApiTarget = {
      baseUrl,
      authorization: adminToken
        ? `Bearer ${adminToken}`
        : adminUser
          ? `Basic ${Buffer.from(adminUser).toString('base64')}`
          : undefined,
    };
    const print = (data: unknown, text: () => string): void => {
      io.stdout.write(`${values.json ? JSON.stringify(data, null, 2) : text()}\n`);
    };
    const [command, ...rest] = positionals;

    switch (command) {
      case 'enqueue': {
        const [type, json] = rest;
        if (!type || json === undefined || rest.length > 2)
          throw new UsageError('enqueue needs a job type and its input as JSON');
        const input = parseJson('the job input', json);
        const key = values['idempotency-key'];
        const accepted = await callApi<Accepted>(
          target,
          'POST',
          `/api/jobs/${encodeURIComponent(type)}`,
          input,
          key ? { 'idempotency-key': key } : {},
        );
        if (!values.wait) {
          print(accepted, () => `${accepted.id} ${accepted.state}`);
          return EXIT.ok;
        }
        const bar = new ProgressBar(io.stderr, accepted.id);
        let progress: unknown;
        const last = await followJob(target, accepted.links.events, (event) => {
          if (event.type === 'state') progress = (event.data as { progress?: unknown }).progress;
          if (event.type === 'progress') progress = event.data;
          if (event.type === 'completed') progress = 100;
          bar.update(event.type === 'state' ? (event.data as { state: string }).state : event.type, progress);
        });
        bar.done();
        const job = await callApi<{ state: string; result?: unknown; error?: string }>(
          target,
          'GET',
          accepted.links.self,
        );
        print(job, () =>
          job.state === 'completed' ? JSON.stringify(job.result) : `${job.state}: ${job.error ?? last?.type ?? ''}`,
        );
        return job.state === 'completed' ? EXIT.ok : EXIT.jobFailed;
      }
      case 'job': {
        const [id] = rest;
        if (!id || rest.length > 1) throw new UsageError('job needs one job id');
        const job = await callApi<JobView>(target, 'GET', `/api/jobs/${encodeURIComponent(id)}`);
        print(job, () => table(JOB_COLUMNS, [jobRow(job)]));
        return EXIT.ok;
      }
      case 'jobs': {
        const [queue] = rest;
        if (!queue || rest.length > 1) throw new UsageError('jobs needs one queue name');
        const limit = wholeNumber('limit', values.limit, 20, 1, 500);
        const query = new URLSearchParams({ state: values.state ?? 'failed', limit: String(limit) });
        const page = await callApi<{ state: string; total: number; jobs: JobView[] }>(
          admin,
          'GET',
          `/api/admin/queues/${encodeURIComponent(queue)}/jobs?${query.toString()}`,
        );
        print(
          page,
          () => `${table(JOB_COLUMNS, page.jobs.map(jobRow))}\n${page.jobs.length} of ${page.total} ${page.state}`,
        );
        return EXIT.ok;
      }
      case 'retry': {
        const [subject] = rest;
        if (!subject || rest.length > 1) throw new UsageError('retry needs a job id, or --all and a queue name');
        if (values.all) {
          const done = await callApi<{ queue: string; retried: number }>(
            admin,
            'POST',
            `/api/admin/queues/${encodeURIComponent(subject)}/retry-failed`,
          );
          print(done, () => `${done.retried} failed jobs of ${done.queue} moved back to waiting`);
          return EXIT.ok;
        }
        const job = await callApi<JobView>(admin, 'POST', `/api/admin/jobs/${encodeURIComponent(subject)}/retry`);
        print(job, () => `${job.id} ${job.state}`);
        return EXIT.ok;
      }
      case 'bench': {
        if (rest.length > 0) throw new UsageError('bench takes only options');
        const report = await benchJobs(target, {
          type: values.type ?? 'sleep',
          input: values.input === undefined ? { ms: 0, steps: 1 } : parseJson('--input', values.input),
          count: wholeNumber('count', values.count, 200, 1, 100_000),
          concurrency: wholeNumber('concurrency', values.concurrency, 16, 1, 1000),
          // The API caps a long poll at MAX_WAIT_SECONDS (25 by default).
          waitSeconds: 20,
        });
        const ms = (n: number): string => `${n.toFixed(1)} ms`;
        print(report, () =>
          table(
            ['', 'rate', 'p50', 'p99'],
            [
              [
                `submitted ${report.count} ${report.type} (${report.concurrency} at a time)`,
                `${report.submitsPerSecond.toFixed(0)}/s`,
                ms(report.submitLatencyMs.p50),
                ms(report.submitLatencyMs.p99),
              ],
              [
                `completed ${report.completed}, failed ${report.failed}, unfinished ${report.unfinished}`,
                `${report.jobsPerSecond.toFixed(0)}/s`,
                ms(report.endToEndMs.p50),
                ms(report.endToEndMs.p99),
              ],
            ],
          ),
        );
        return report.completed === report.count ? EXIT.ok : EXIT.jobFailed;
      }
      case 'profile': {
        const [processId] = rest;
        if (!processId || rest.length > 1)
          throw new UsageError('profile needs one process id (see `flotilla workers`)');
        const flags = (Object.keys(PROFILE_KINDS) as (keyof typeof PROFILE_KINDS)[]).filter((flag) => values[flag]);
        const [flag] = flags;
        if (flag === undefined || flags.length > 1)
          throw new UsageError('profile needs exactly one of --cpu, --heap, --heap-sampling');
        if (flag === 'heap' && values.seconds !== undefined)
          throw new UsageError('--seconds goes with --cpu or --heap-sampling: a heap snapshot is taken in one go');
        // 3600 is the most PROFILE_MAX_SECONDS allows; the web refuses what is over its own setting.
        const seconds = flag === 'heap' ? undefined : wholeNumber('seconds', values.seconds, 10, 1, 3600);
        const saved = await takeProfile(
          admin,
          { processId, kind: PROFILE_KINDS[flag], seconds, out: values.out },
          new ProgressBar(io.stderr, processId),
        );
        print(saved, () => `${saved.path} ${byteSize(saved.bytes)}`);
        return EXIT.ok;
      }
      case 'queues': {
        const { queues } = await callApi<{ queues: Queue[] }>(target, 'GET', '/api/queues');
        // Over the five whole minutes before this one plus the part of this one gone by, so a
        // burst shows at once rather than a minute later.
        const minutes = 5 + (Date.now() % 60_000) / 60_000;
        const perMinute = (series: readonly number[]): string => (sum(series.slice(-6)) / minutes).toFixed(1);
        const counts = (figures: ShardFigures): number[] =>
          ['waiting', 'active', 'delayed', 'failed', 'completed'].map((state) => figures.counts[state] ?? 0);
        // Throughput is counted per queue, not per shard: a shard's row leaves those columns empty.
        const shardRows = (q: Queue): (string | number)[][] =>
          values.shards
            ? (q.shards ?? []).map((shard, index) => [
                `  shard ${index} ${shard.prefix}`,
                ...counts(shard),
                '',
                '',
                shard.oldestWaitingSeconds.toFixed(1),
                shard.workers,
              ])
            : [];
        print(queues, () =>
          table(
            [
              'queue',
              'waiting',
              'active',
              'delayed',
              'failed',
              'completed',
              'done/min',
              'failed/min',
              'oldest waiting s',
              'workers',
            ],
            queues.flatMap((q) => [
              [
                q.name,
                ...counts(q),
                perMinute(q.throughput.completed),
                perMinute(q.throughput.failed),
                q.oldestWaitingSeconds.toFixed(1),
                q.workers,
              ],
              ...shardRows(q),
            ]),
          ),
        );
        return EXIT.ok;
      }
      case 'workers': {
        const { groups } = await callApi<{ groups: Record<string, Member[]> }>(target, 'GET', '/api/members');
        const rows = Object.entries(groups).flatMap(([group, members]) =>
          members.map((m) => [
            group,
            m.id,
            m.capabilities['host'] ?? '',
            m.capabilities['pid'] ?? '',
            m.capabilities['version'] ?? '',
            m.capabilities['queues'] ?? '',
            m.capabilities['startedAt'] ?? '',
          ]),
        );
        print(groups, () => table(['group', 'id', 'host', 'pid', 'version', 'queues', 'started'], rows));
        return EXIT.ok;
      }
      case 'cache': {
        if (rest[0] !== 'stats' || rest.length > 1) throw new UsageError('the cache command is "cache stats"');
        const minutes = values.minutes ?? '60';
        if (!/^\d{1,4}$/.test(minutes)) throw new UsageError(`--minutes: expected a whole number, got "${minutes}"`);
        const stats = await callApi<{
          caches: { name: string; process: { hits: number; misses: number; l1Hits: number; invalidations: number } }[];
        }>(target, 'GET', `/api/cache/stats?minutes=${minutes}`);
        print(stats, () =>
          table(
            ['cache', 'hits', 'misses', 'hit ratio', 'from memory', 'invalidations'],
            stats.caches.map(({ name, process: p }) => [
              name,
              p.hits,
              p.misses,
              p.hits + p.misses === 0 ? '–' : `${((100 * p.hits) / (p.hits + p.misses)).toFixed(1)}%`,
              p.l1Hits,
              p.invalidations,
            ]),
          ),
        );
        return EXIT.ok;
      }
      default:
        throw new UsageError(command ? `unknown command "${command}"` : 'a command is needed');
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (
      error instanceof UsageError ||
      (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr.write(`flotilla: ${message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`flotilla: ${message}\n`);
    if (error instanceof ApiError) return error.status >= 500 ? EXIT.unreachable : EXIT.refused;
    if (error instanceof UnreachableError) return EXIT.unreachable;
    if (error instanceof ProfileFailedError) return EXIT.jobFailed;
    throw error;
  }
}
