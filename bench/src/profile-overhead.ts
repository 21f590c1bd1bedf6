import { LOAD_TEST_ENV, spawnWeb, type ServiceHandle } from '@flotilla/testkit';
import {
  cacheArticlePage,
  measureHttp,
  median,
  printEnvironment,
  printTable,
  startBenchRedis,
  withCpu,
  type HttpLoadResult,
} from './harness/index.js';

// Sized for a 2-core machine that also runs Redis, the server and the load generator.
const CONNECTIONS = 32;
const WARMUP_SECONDS = 1;
const DURATION_SECONDS = 5;
// Rounds alternate the variants on one long-lived process, so a burst of other work hits them alike.
const ROUNDS = 4;
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

type ProfileKind = 'cpu' | 'heap-sampling';

interface Variant {
  readonly name: string;
  /** What the web records while it is measured; undefined: nothing. */
  readonly profile?: ProfileKind;
}

const variants: readonly [Variant, ...Variant[]] = [
  { name: 'not profiled' },
  { name: 'not profiled again (noise floor)' },
  { name: 'recording a CPU profile', profile: 'cpu' },
  { name: 'recording a sampling heap profile', profile: 'heap-sampling' },
];

type Measured = HttpLoadResult & { readonly cpuMicrosPerRequest: number };

/**
 * What profiling a live process costs it: requests per second of the web serving a cached page
 * (its cheapest request, so the largest share of overhead) while it records a CPU profile or a
 * sampling heap profile asked for through the admin API, against the same process not
 * profiled, in alternating rounds.
 */
export async function runProfileOverhead(): Promise<void> {
  console.log(
    `\n## Profiling overhead: GET of a cached page while the web profiles itself, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_SECONDS} s\n`,
  );
  printEnvironment();
  const redis = await startBenchRedis();
  const web = await spawnWeb({
    ...LOAD_TEST_ENV,
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
    PROFILE_MAX_SECONDS: '60',
  });
  const measured: Measured[][] = variants.map(() => []);
  const profileBytes: number[] = [];
  try {
    const { path, hit } = await cacheArticlePage(
      web.url,
      'Profiled',
      'A page the web serves from memory while it profiles itself. '.repeat(100),
    );
    await hit.arrayBuffer();
    const url = web.url + path;
    const processId = await ownId(web);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [index, variant] of variants.entries()) {
        const load = () =>
          measureHttp({
            url,
            connections: CONNECTIONS,
            durationSeconds: DURATION_SECONDS,
            warmupSeconds: WARMUP_SECONDS,
          });
        if (variant.profile === undefined) {
          measured[index]?.push(toMeasured(await withCpu(web.pid, load)));
          continue;
        }
        const location = await startProfile(web, processId, variant.profile, WARMUP_SECONDS + DURATION_SECONDS + 1);
        measured[index]?.push(toMeasured(await withCpu(web.pid, load)));
        profileBytes.push(await profileSize(web, location));
      }
    }
  } finally {
    await web.stop();
    await redis.stop();
  }
  const rows = variants.map((variant, index) => {
    const results = measured[index] ?? [];
    return {
      variant: variant.name,
      values: [
        median(results.map((r) => r.requestsPerSecond)),
        median(results.map((r) => r.latencyMs.p99)),
        median(results.map((r) => r.cpuMicrosPerRequest)),
      ],
    };
  });
  printTable({
    title: 'A live web profiling itself vs not',
    notes: [
      `One long-lived web process; each round measures every variant in turn; median of ${ROUNDS} rounds. The profile is asked for through the admin API and recording before the load starts.`,
      `Profiles handed back: ${Math.round(median(profileBytes) / 1024)} KB median. Server CPU: user + system time per request over the measured part (/proc).`,
    ],
    metrics: [
      { name: 'req/s', higherIsBetter: true },
      { name: 'p99 ms', higherIsBetter: false },
      { name: 'server CPU µs/req', higherIsBetter: false },
    ],
    rows: rows as [(typeof rows)[number], ...typeof rows],
  });
}

function toMeasured(result: HttpLoadResult & { readonly cpuSeconds: number }): Measured {
  return { ...result, cpuMicrosPerRequest: (result.cpuSeconds * 1e6) / result.requests };
}

async function ownId(web: ServiceHandle): Promise<string> {
  const { groups } = (await (await fetch(`${web.url}/api/members`)).json()) as {
    groups: Record<string, { id: string; capabilities: { pid: string } }[]>;
  };
  const id = groups['web']?.find((m) => m.capabilities.pid === String(web.pid))?.id;
  if (!id) throw new Error('the web is not in the fleet membership');
  return id;
}

async function status(
  web: ServiceHandle,
  location: string,
): Promise<{ state: string; bytes?: number; error?: string; file: string }> {
  return (await (await fetch(web.url + location, { headers: admin })).json()) as {
    state: string;
    bytes?: number;
    error?: string;
    file: string;
  };
}

/** Asks the web for a profile and resolves once it is recording. */
async function startProfile(
  web: ServiceHandle,
  processId: string,
  kind: ProfileKind,
  seconds: number,
): Promise<string> {
  const asked = await fetch(`${web.url}/api/admin/processes/${processId}/profiles`, {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ kind, seconds }),
  });
  if (asked.status !== 202) throw new Error(`asking for a profile answered ${asked.status}: ${await asked.text()}`);
  const location = asked.headers.get('location') ?? '';
  while ((await status(web, location)).state === 'requested') await new Promise((resolve) => setTimeout(resolve, 20));
  return location;
}

/** Waits for the profile to be handed back, downloads it, and returns its size. */
async function profileSize(web: ServiceHandle, location: string): Promise<number> {
  for (;;) {
    const current = await status(web, location);
    if (current.state === 'failed') throw new Error(`the profile failed: ${current.error ?? ''}`);
    if (current.state === 'done')
      return (await (await fetch(web.url + current.file, { headers: admin })).arrayBuffer()).byteLength;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

if (import.meta.main) await runProfileOverhead();
