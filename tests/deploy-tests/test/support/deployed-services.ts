import { join } from 'node:path';
import { isolatedServiceEnv, spawnService, type ServiceHandle } from '@flotilla/testkit';

/** Web and worker started from a deployed folder, sharing the run's Redis under fresh prefixes. */
export interface DeployedPair {
  readonly web: ServiceHandle;
  readonly worker: ServiceHandle;
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` for web and worker with `appDir` as the working directory, exactly as a
 * container (WORKDIR + CMD) or a Procfile line would, and waits until both are ready.
 */
export async function startDeployed(
  appDir: string,
  commands: { readonly web: readonly string[]; readonly worker: readonly string[] },
  env: Readonly<Record<string, string>>,
  redisUrl: string,
): Promise<DeployedPair> {
  const shared = { ...env, ...isolatedServiceEnv(redisUrl) };
  const entry = (argv: readonly string[]): string => {
    if (argv[0] !== 'node' || !argv[1] || argv.length !== 2)
      throw new Error(`expected \`node <script>\`, got ${argv.join(' ')}`);
    return join(appDir, argv[1]);
  };
  const [web, worker] = await Promise.all([
    spawnService({ entry: entry(commands.web), cwd: appDir, env: shared, readyTimeoutMs: 30_000 }),
    spawnService({ entry: entry(commands.worker), cwd: appDir, env: shared, readyTimeoutMs: 30_000 }),
  ]);
  return {
    web,
    worker,
    async stop() {
      await Promise.all([web.stop(), worker.stop()]);
    },
  };
}

/** Submits a CPU job (worker threads) and an I/O job through the web and waits for the worker to finish both. */
export async function runJobsThrough(web: ServiceHandle): Promise<string[]> {
  const states: string[] = [];
  for (const [type, input] of [
    ['fib', { n: 30 }],
    ['sleep', { ms: 50, steps: 2 }],
  ] as const) {
    const accepted = await fetch(`${web.url}/api/jobs/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    if (accepted.status !== 202) throw new Error(`POST /api/jobs/${type}: ${accepted.status} ${await accepted.text()}`);
    const location = accepted.headers.get('location');
    const finished = await fetch(`${web.url}${location}?wait=20`);
    const body = (await finished.json()) as { state?: string };
    states.push(`${type}:${body.state ?? 'unknown'}`);
  }
  return states;
}
