import { existsSync } from 'node:fs';
import { Ajv } from 'ajv';
import { loadWebConfig, loadWorkerConfig } from '@flotilla/config';
import { catalog } from '@flotilla/jobs';
import { connectionsHeld } from '@flotilla/testkit';
import { describe, expect, it } from 'vitest';
import { PLATFORM_LIMITS } from './support/platform-limits.js';
import { readRepoJson, readRepoText, repoPath } from './support/paths.js';
import { parseProcfile, procfileCommands, splitCommand } from './support/procfile.js';

// Heroku: the Procfile (also read by Elastic Beanstalk) and app.json, parsed and checked against
// what Heroku does with them, and Flotilla's configuration loaded the way a dyno starts it.

interface AppJson {
  formation: Record<string, { quantity: number; size: string }>;
  addons: { plan: string; as?: string; options?: Record<string, unknown> }[];
  env: Record<string, { value?: string; generator?: 'secret'; required?: boolean; description?: string }>;
  buildpacks: { url: string }[];
  stack?: string;
}

/** The app.json fields Heroku documents (devcenter "app.json Schema"); anything else is a typo. */
const appJsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'formation', 'addons', 'env', 'buildpacks'],
  properties: {
    name: { type: 'string', maxLength: 30 },
    description: { type: 'string' },
    keywords: { type: 'array', items: { type: 'string' } },
    website: { type: 'string' },
    repository: { type: 'string' },
    logo: { type: 'string' },
    success_url: { type: 'string', pattern: '^/' },
    scripts: { type: 'object', additionalProperties: { type: 'string' } },
    stack: { enum: ['heroku-22', 'heroku-24'] },
    image: { type: 'string' },
    buildpacks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['url'],
        additionalProperties: false,
        properties: { url: { type: 'string' } },
      },
    },
    addons: {
      type: 'array',
      items: {
        type: 'object',
        required: ['plan'],
        additionalProperties: false,
        properties: {
          plan: { type: 'string', pattern: '^[a-z0-9-]+(:[a-z0-9-]+)?$' },
          as: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
          options: { type: 'object' },
        },
      },
    },
    formation: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['quantity'],
        additionalProperties: false,
        properties: {
          quantity: { type: 'integer', minimum: 0 },
          size: {
            enum: [
              'eco',
              'basic',
              'standard-1x',
              'standard-2x',
              'performance-m',
              'performance-l',
              'performance-l-ram',
              'performance-xl',
              'performance-2xl',
            ],
          },
        },
      },
    },
    env: {
      type: 'object',
      propertyNames: { pattern: '^[A-Z][A-Z0-9_]*$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          description: { type: 'string' },
          value: { type: 'string' },
          generator: { const: 'secret' },
          required: { type: 'boolean' },
        },
      },
    },
    environments: { type: 'object' },
  },
} as const;

async function readAppJson(): Promise<AppJson> {
  return (await readRepoJson('app.json')) as AppJson;
}

/** The environment a dyno starts with: app.json values, generated secrets, the add-on's URL, Heroku's own variables. */
async function dynoEnv(dyno: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const app = await readAppJson();
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(app.env)) {
    // Heroku's generator makes 64 hexadecimal characters.
    if (spec.generator === 'secret') env[name] = 'a'.repeat(64);
    else if (spec.value !== undefined) env[name] = spec.value;
  }
  return {
    ...env,
    // What the heroku-redis add-on attached as REDIS sets: TLS with a self-signed certificate.
    REDIS_URL: 'rediss://:p4ssw0rd@ec2-1-2-3-4.compute-1.amazonaws.com:12345',
    DYNO: dyno,
    PORT: '54321',
    ...extra,
  };
}

describe('Procfile', () => {
  it('declares web and worker as compiled code started by node itself', async () => {
    const processes = parseProcfile(await readRepoText('Procfile'));
    expect([...processes.keys()].filter((name) => name !== 'release')).toEqual(['web', 'worker']);
    for (const [name, command] of processes) {
      const argv = splitCommand(command);
      expect(argv[0], `${name}: signals must reach node, not npm or pnpm`).toBe('node');
      expect(existsSync(repoPath(argv[1] ?? '')), `${name}: ${argv[1]} is built by the root build script`).toBe(true);
    }
  });

  it('starts what the root build script builds (Heroku runs `build`, then prunes devDependencies)', async () => {
    const manifest = (await readRepoJson('package.json')) as {
      scripts: Record<string, string>;
      engines?: { node?: string };
    };
    expect(manifest.scripts['build']).toBe('tsc -b');
    expect(manifest.engines?.node, 'Heroku picks the Node version from engines.node').toMatch(/24/);
    const commands = await procfileCommands();
    expect(commands.web[1]).toBe('services/web/dist/main.js');
    expect(commands.worker[1]).toBe('services/worker/dist/main.js');
  });
});

describe('app.json', () => {
  it('follows the app.json schema', async () => {
    const validate = new Ajv({ allErrors: true, strict: true }).compile(appJsonSchema);
    const app = await readAppJson();
    expect(validate(app) ? [] : validate.errors).toEqual([]);
  });

  it('forms exactly the Procfile process types, on dynos that can scale out, with the Node.js buildpack and Heroku Redis', async () => {
    const app = await readAppJson();
    const processes = parseProcfile(await readRepoText('Procfile'));
    expect(Object.keys(app.formation).sort()).toEqual([...processes.keys()].filter((p) => p !== 'release').sort());
    for (const [name, formation] of Object.entries(app.formation)) {
      expect(formation.quantity, name).toBeGreaterThanOrEqual(1);
      // eco and basic dynos run one dyno per process type: no horizontal scaling.
      expect(['eco', 'basic'], name).not.toContain(formation.size);
    }
    expect(app.buildpacks).toEqual([{ url: 'heroku/nodejs' }]);
    expect(app.addons.map((a) => a.plan.split(':')[0])).toContain('heroku-redis');
  });

  it('fits the Redis plan it provisions, with room for a restart where old and new dynos overlap', async () => {
    const app = await readAppJson();
    const limits = PLATFORM_LIMITS.heroku;
    const plan = app.addons.find((a) => a.plan.startsWith('heroku-redis:'))?.plan ?? '';
    const allowed = limits.redisPlanConnections[plan];
    expect(allowed, `the connection limit of ${plan}`).toBeDefined();
    const { web, worker } = app.formation;
    const processes = limits.webConcurrencyByDynoSize[web?.size ?? ''];
    expect(processes, `WEB_CONCURRENCY on ${web?.size}`).toBeDefined();
    const webProcess = connectionsHeld({
      service: 'web',
      durableSubmissions: loadWebConfig(await dynoEnv('web.1')).durableSubmissions,
    });
    const consumedQueues = loadWorkerConfig(await dynoEnv('worker.1')).worker.queues?.length ?? catalog.queues.length;
    const workerProcess = connectionsHeld({ service: 'worker', consumedQueues });
    const steady =
      (web?.quantity ?? 0) * (processes ?? 0) * webProcess.queue + (worker?.quantity ?? 0) * workerProcess.queue;
    expect(2 * steady).toBeLessThanOrEqual(allowed ?? 0);
  });

  it('gives web and worker a configuration their schema accepts, with Heroku Redis TLS and the dyno defaults', async () => {
    const web = loadWebConfig(await dynoEnv('web.1'));
    const worker = loadWorkerConfig(await dynoEnv('worker.1'));
    for (const config of [web, worker]) {
      expect(config.platform).toBe('heroku');
      expect(config.port).toBe(54321);
      expect(config.redis.allowSelfSignedTls, 'Heroku Redis presents a self-signed certificate').toBe(true);
      expect(config.redis.queueUrl.startsWith('rediss://')).toBe(true);
      expect(config.queue.evictionPolicyCheck).toBe('refuse');
      expect(config.metrics.auth.kind).toBe('bearer');
    }
    // REDIS_TLS_URL, set by older Heroku Redis plans, wins over REDIS_URL.
    const tls = loadWebConfig(await dynoEnv('web.1', { REDIS_TLS_URL: 'rediss://:x@tls.example:6380' }));
    expect(tls.redis.queueUrl).toBe('rediss://:x@tls.example:6380');
    // The Node.js buildpack sets WEB_CONCURRENCY from the dyno's memory; the web forks that many.
    expect(loadWebConfig(await dynoEnv('web.1', { WEB_CONCURRENCY: '4' })).webConcurrency).toBe(4);
  });

  it('fits the router and dyno limits: keep-alive, SSE heartbeat, first byte, shutdown', async () => {
    const limits = PLATFORM_LIMITS.heroku;
    const web = loadWebConfig(await dynoEnv('web.1'));
    const worker = loadWorkerConfig(await dynoEnv('worker.1'));
    expect(web.http.keepAliveTimeoutMs / 1000, 'Node keeps idle connections longer than the router').toBeGreaterThan(
      limits.routerKeepAliveIdleSeconds,
    );
    expect(web.http.sseHeartbeatMs / 1000, 'an event stream sends something inside the rolling window').toBeLessThan(
      limits.routerRollingWindowSeconds,
    );
    expect(web.http.maxWaitMs / 1000, 'a long poll answers before the router gives up').toBeLessThan(
      limits.routerInitialResponseSeconds,
    );
    for (const config of [web, worker]) {
      expect((config.shutdown.timeoutMs + config.shutdown.drainDelayMs) / 1000 + 2).toBeLessThanOrEqual(
        limits.shutdownGraceSeconds,
      );
    }
  });
});
