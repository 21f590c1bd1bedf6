import { parseArgs } from 'node:util';
import { ApiError, UnreachableError, callApi, type ApiTarget } from './api-client.js';
import { followJob } from './follow-job.js';
import { table } from './format.js';
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
  queues                                                 counts and oldest waiting job per queue
  workers                                                live web and worker processes
  cache stats [--minutes N]                              hit ratios per cache

options: --url URL (FLOTILLA_URL, default http://127.0.0.1:3000), --token T (FLOTILLA_TOKEN), --json
exit codes: 0 done, 1 the job failed, 2 usage, 3 request refused (4xx), 4 web unreachable or unavailable (5xx)`;

class UsageError extends Error {}

interface Queue {
  name: string;
  counts: Record<string, number>;
  oldestWaitingSeconds: number;
  workers: number;
}
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
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    const target: ApiTarget = { baseUrl: values.url ?? io.env['FLOTILLA_URL'] ?? 'http://127.0.0.1:3000', token: values.token ?? io.env['FLOTILLA_TOKEN'] };
    if (!URL.canParse(target.baseUrl)) throw new UsageError(`--url: "${target.baseUrl}" is not a URL`);
    const print = (data: unknown, text: () => string): void => {
      io.stdout.write(`${values.json ? JSON.stringify(data, null, 2) : text()}\n`);
    };
    const [command, ...rest] = positionals;

    switch (command) {
      case 'enqueue': {
        const [type, json] = rest;
        if (!type || json === undefined || rest.length > 2) throw new UsageError('enqueue needs a job type and its input as JSON');
        let input: unknown;
        try {
          input = JSON.parse(json);
        } catch {
          throw new UsageError(`the job input is not valid JSON: ${json}`);
        }
        const key = values['idempotency-key'];
        const accepted = await callApi<Accepted>(target, 'POST', `/api/jobs/${encodeURIComponent(type)}`, input, key ? { 'idempotency-key': key } : {});
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
        const job = await callApi<{ state: string; result?: unknown; error?: string }>(target, 'GET', accepted.links.self);
        print(job, () => (job.state === 'completed' ? JSON.stringify(job.result) : `${job.state}: ${job.error ?? last?.type ?? ''}`));
        return job.state === 'completed' ? EXIT.ok : EXIT.jobFailed;
      }
      case 'job': {
        const [id] = rest;
        if (!id || rest.length > 1) throw new UsageError('job needs one job id');
        const job = await callApi<{ id: string; type: string; state: string; progress: unknown; attemptsMade: number; result?: unknown; error?: string }>(
          target,
          'GET',
          `/api/jobs/${encodeURIComponent(id)}`,
        );
        print(job, () =>
          table(
            ['id', 'type', 'state', 'progress', 'attempts', 'outcome'],
            [[job.id, job.type, job.state, JSON.stringify(job.progress), job.attemptsMade, job.error ?? (job.result === undefined ? '' : JSON.stringify(job.result))]],
          ),
        );
        return EXIT.ok;
      }
      case 'queues': {
        const { queues } = await callApi<{ queues: Queue[] }>(target, 'GET', '/api/queues');
        print(queues, () =>
          table(
            ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'oldest waiting s', 'workers'],
            queues.map((q) => [q.name, q.counts['waiting'] ?? 0, q.counts['active'] ?? 0, q.counts['delayed'] ?? 0, q.counts['failed'] ?? 0, q.counts['completed'] ?? 0, q.oldestWaitingSeconds.toFixed(1), q.workers]),
          ),
        );
        return EXIT.ok;
      }
      case 'workers': {
        const { groups } = await callApi<{ groups: Record<string, Member[]> }>(target, 'GET', '/api/members');
        const rows = Object.entries(groups).flatMap(([group, members]) =>
          members.map((m) => [group, m.id, m.capabilities['host'] ?? '', m.capabilities['pid'] ?? '', m.capabilities['version'] ?? '', m.capabilities['queues'] ?? '', m.capabilities['startedAt'] ?? '']),
        );
        print(groups, () => table(['group', 'id', 'host', 'pid', 'version', 'queues', 'started'], rows));
        return EXIT.ok;
      }
      case 'cache': {
        if (rest[0] !== 'stats' || rest.length > 1) throw new UsageError('the cache command is "cache stats"');
        const minutes = values.minutes ?? '60';
        if (!/^\d{1,4}$/.test(minutes)) throw new UsageError(`--minutes: expected a whole number, got "${minutes}"`);
        const stats = await callApi<{ caches: { name: string; process: { hits: number; misses: number; l1Hits: number; invalidations: number } }[] }>(
          target,
          'GET',
          `/api/cache/stats?minutes=${minutes}`,
        );
        print(stats, () =>
          table(
            ['cache', 'hits', 'misses', 'hit ratio', 'from memory', 'invalidations'],
            stats.caches.map(({ name, process: p }) => [name, p.hits, p.misses, p.hits + p.misses === 0 ? '–' : `${((100 * p.hits) / (p.hits + p.misses)).toFixed(1)}%`, p.l1Hits, p.invalidations]),
          ),
        );
        return EXIT.ok;
      }
      default:
        throw new UsageError(command ? `unknown command "${command}"` : 'a command is needed');
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`flotilla: ${message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`flotilla: ${message}\n`);
    if (error instanceof ApiError) return error.status >= 500 ? EXIT.unreachable : EXIT.refused;
    if (error instanceof UnreachableError) return EXIT.unreachable;
    throw error;
  }
}
