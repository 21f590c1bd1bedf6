import { RedisServerMissingError, findRedisServer, startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { startChild, type ChildExit, type ChildService } from './child-service.js';
import { waitUntilReady } from './readiness.js';
import { redactUrl } from './redact-url.js';

/** What `runLocalStack` starts and how it reports. */
export interface LocalStackOptions {
  /** Compiled entry point of the web service. */
  readonly webEntry: string;
  /** Compiled entry point of the worker service. */
  readonly workerEntry: string;
  /**
   * The launcher's environment (default `process.env`). PORT (default 3000) and WORKER_PORT
   * (default 3001) pick the ports; without REDIS_URL or REDIS_TLS_URL a private redis-server
   * is started. Everything else is passed through to both services.
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory of both services; defaults to this process's. */
  readonly cwd?: string;
  /** How long both services get to answer /readyz with 200; defaults to 30 s. */
  readonly readyTimeoutMs?: number;
  /** How long each service gets to exit after SIGTERM before SIGKILL; defaults to 35 s. */
  readonly stopTimeoutMs?: number;
  /** Receives each line the services print, prefixed `web | ` or `worker | `; default stdout. */
  readonly output?: (line: string) => void;
  /** Receives the launcher's own messages; default stderr with a `flotilla: ` prefix. */
  readonly log?: (message: string) => void;
}

/** Where the running stack can be reached. */
export interface LocalStackEndpoints {
  readonly webUrl: string;
  readonly workerHealthUrl: string;
  readonly redisUrl: string;
  /** True when the launcher started its own redis-server (it stops with the stack). */
  readonly privateRedis: boolean;
  readonly webPid: number | undefined;
  readonly workerPid: number | undefined;
}

/** A web + worker (+ private Redis) stack started by `runLocalStack`. */
export interface LocalStack {
  /** Resolves once both services are ready; rejects if the stack ends before that. */
  readonly ready: Promise<LocalStackEndpoints>;
  /**
   * Resolves once everything the stack started is gone, with the exit code the launcher
   * should use: 0 after `stop()`, 1 when start-up failed or a service exited on its own.
   */
  readonly done: Promise<number>;
  /** Stops both services (SIGTERM, bounded wait, SIGKILL), then Redis; safe to call twice. */
  stop(): Promise<number>;
}

// What the stack started so far; whatever is here is stopped when the stack ends.
interface Resources {
  redis?: RedisServer;
  readonly children: ChildService[];
}

type Settings = Required<Omit<LocalStackOptions, 'cwd'>> & { readonly cwd: string };

/**
 * Starts a private redis-server (unless the environment names a Redis), then the web and
 * worker services, and waits until both answer /readyz. The returned handle stops them all.
 */
export function runLocalStack(options: LocalStackOptions): LocalStack {
  const settings: Settings = {
    env: process.env,
    cwd: process.cwd(),
    readyTimeoutMs: 30_000,
    stopTimeoutMs: 35_000,
    output: (line) => process.stdout.write(`${line}\n`),
    log: (message) => process.stderr.write(`flotilla: ${message}\n`),
    ...options,
  };
  const stopRequest = new AbortController();
  const { promise: ready, resolve: markReady } = Promise.withResolvers<LocalStackEndpoints>();
  const done = run(settings, stopRequest.signal, markReady);
  const readyOrEnded = Promise.race([
    ready,
    done.then(() => {
      throw new Error('the local stack ended before it was ready');
    }),
  ]);
  // `done` already reports a failed start; a caller that only awaits `done` must not see an
  // unhandled rejection from `ready`.
  readyOrEnded.catch(() => undefined);
  return {
    ready: readyOrEnded,
    done,
    async stop() {
      stopRequest.abort();
      return await done;
    },
  };
}

async function run(
  settings: Settings,
  stopSignal: AbortSignal,
  markReady: (endpoints: LocalStackEndpoints) => void,
): Promise<number> {
  const resources: Resources = { children: [] };
  let code: number;
  try {
    code = await startAndWatch(settings, stopSignal, markReady, resources);
  } catch (error) {
    settings.log(error instanceof Error ? error.message : String(error));
    code = 1;
  }
  try {
    await shutDown(settings, resources);
  } catch (error) {
    settings.log(`could not stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
    code = 1;
  }
  return code;
}

async function startAndWatch(
  settings: Settings,
  stopSignal: AbortSignal,
  markReady: (endpoints: LocalStackEndpoints) => void,
  resources: Resources,
): Promise<number> {
  const { env, log } = settings;
  const stopped = new Promise<'stopped'>((resolve) => {
    if (stopSignal.aborted) resolve('stopped');
    else stopSignal.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  const webPort = portFrom(env, 'PORT', 3000);
  const workerPort = portFrom(env, 'WORKER_PORT', 3001);
  if (webPort === workerPort) throw new Error(`PORT and WORKER_PORT must differ, both are ${webPort}`);

  for (const entry of [settings.webEntry, settings.workerEntry]) {
    if (!existsSync(entry)) throw new Error(`${entry} does not exist; build first (pnpm run build)`);
  }

  let redisUrl = env['REDIS_URL'] ?? env['REDIS_TLS_URL'];
  if (redisUrl === undefined) {
    if (findRedisServer() === undefined) throw new RedisServerMissingError();
    resources.redis = await startRedisServer();
    redisUrl = resources.redis.url;
    if (stopSignal.aborted) return 0;
  }

  const serviceEnv = (port: number): NodeJS.ProcessEnv => ({
    // A laptop's stack answers on loopback only, as the addresses it prints say, unless asked otherwise.
    LISTEN_HOST: '127.0.0.1',
    ...env,
    ...(resources.redis ? { REDIS_URL: resources.redis.url } : {}),
    PORT: String(port),
  });
  // The dashboard can act on jobs: a laptop gets a password made up for this run rather than an
  // open dashboard, unless it chose otherwise.
  const dashboardChosen = ['ADMIN_TOKEN', 'ADMIN_BASIC_AUTH', 'DASHBOARD_ALLOW_UNAUTHENTICATED'].some(
    (name) => env[name] !== undefined,
  );
  const dashboardPassword = dashboardChosen ? undefined : randomBytes(12).toString('base64url');
  const web = startChild({
    name: 'web',
    entry: settings.webEntry,
    env: { ...serviceEnv(webPort), ...(dashboardPassword ? { ADMIN_BASIC_AUTH: `admin:${dashboardPassword}` } : {}) },
    cwd: settings.cwd,
    output: settings.output,
  });
  const worker = startChild({
    name: 'worker',
    entry: settings.workerEntry,
    env: serviceEnv(workerPort),
    cwd: settings.cwd,
    output: settings.output,
  });
  resources.children.push(web, worker);
  const firstExit = Promise.race(resources.children.map(async (child) => ({ child, exit: await child.exited })));

  const webUrl = `http://127.0.0.1:${webPort}`;
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const probing = new AbortController();
  const readiness = waitUntilReady(
    [`${webUrl}/readyz`, `${workerUrl}/readyz`],
    settings.readyTimeoutMs,
    probing.signal,
  );
  const startup = await Promise.race([readiness, firstExit, stopped]);
  probing.abort();
  if (startup === 'stopped') return 0;
  if (!Array.isArray(startup)) {
    log(`${startup.child.name} exited (${describeExit(startup.exit)}) before it was ready; stopping`);
    return 1;
  }
  if (startup.length > 0) {
    log(`no 200 from ${startup.join(' and ')} within ${settings.readyTimeoutMs} ms; stopping`);
    return 1;
  }

  const endpoints: LocalStackEndpoints = {
    webUrl,
    workerHealthUrl: `${workerUrl}/healthz`,
    redisUrl,
    privateRedis: resources.redis !== undefined,
    webPid: web.pid,
    workerPid: worker.pid,
  };
  const redisNote = resources.redis ? ' (private, stops with this process)' : '';
  log(`ready: web ${webUrl} | worker health ${endpoints.workerHealthUrl} | redis ${redactUrl(redisUrl)}${redisNote}`);
  if (dashboardPassword)
    log(`dashboard: ${webUrl}/dashboard (user admin, password ${dashboardPassword}, made up for this run)`);
  markReady(endpoints);

  const end = await Promise.race([firstExit, stopped]);
  if (end === 'stopped') return 0;
  log(`${end.child.name} exited (${describeExit(end.exit)}); stopping the rest`);
  return 1;
}

async function shutDown(settings: Settings, resources: Resources): Promise<void> {
  const running = resources.children.filter((child) => child.isRunning());
  if (running.length > 0) settings.log(`stopping ${running.map((child) => child.name).join(' and ')}`);
  await Promise.all(resources.children.map(async (child) => await child.stop(settings.stopTimeoutMs)));
  // Last, so the services can still reach Redis while they drain.
  await resources.redis?.stop();
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65_535) {
    throw new Error(`${name} must be a port number from 1 to 65535, got "${raw}"`);
  }
  return port;
}

function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}
