import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadWebConfig, loadWorkerConfig } from '@flotilla/config';
import { describe, expect, it } from 'vitest';
import { parseYaml, readRepoText, readRepoYaml, repoPath } from './support/paths.js';
import { procfileCommands, splitCommand } from './support/procfile.js';
import { runWithStubGcloud } from './support/stub-gcloud.js';
import { findExecutable, run } from './support/tools.js';

// Google App Engine (standard environment): app.yaml (the web, default service) and
// infra/appengine/worker.yaml, read statically, by gcloud's own app.yaml parser when the Google
// Cloud CLI is installed, and deployed by infra/appengine/deploy.sh against a stub gcloud.

interface AppYaml {
  runtime: string;
  service: string;
  entrypoint: string;
  instance_class: string;
  automatic_scaling?: Record<string, number>;
  manual_scaling?: { instances: number };
  basic_scaling?: Record<string, unknown>;
  vpc_access_connector?: { name: string; egress_setting?: string };
  env_variables: Record<string, string>;
}

const DESCRIPTORS = { web: 'app.yaml', worker: 'infra/appengine/worker.yaml' } as const;

async function descriptor(service: 'web' | 'worker'): Promise<AppYaml> {
  return (await readRepoYaml(...DESCRIPTORS[service].split('/'))) as AppYaml;
}

/** The environment App Engine starts an instance with (it sets PORT and GAE_SERVICE). */
function instanceEnv(app: AppYaml): Record<string, string> {
  return { ...app.env_variables, GAE_SERVICE: app.service, PORT: '8081' };
}

describe('App Engine descriptors', () => {
  it('run the newest Node runtime with the Procfile commands as entrypoint', async () => {
    const commands = await procfileCommands();
    const toolchain = await readRepoText('tools', 'devstack', 'bin', 'with-toolchain.sh');
    const nodeMajor = /readonly NODE_MAJOR=(\d+)/.exec(toolchain)?.[1];
    for (const service of ['web', 'worker'] as const) {
      const app = await descriptor(service);
      expect(app.runtime).toBe(`nodejs${nodeMajor}`);
      expect(splitCommand(app.entrypoint)).toEqual(commands[service]);
      expect(existsSync(repoPath(commands[service][1] ?? ''))).toBe(true);
    }
    expect((await descriptor('web')).service).toBe('default');
    expect((await descriptor('worker')).service).toBe('worker');
  });

  it('scale the web on requests and keep the worker running (manual scaling on a B instance class)', async () => {
    const web = await descriptor('web');
    const worker = await descriptor('worker');
    expect(web.automatic_scaling?.['min_instances']).toBeGreaterThanOrEqual(1);
    expect(worker.automatic_scaling, 'request-driven scaling would stop idle queue consumers').toBeUndefined();
    expect(worker.basic_scaling, 'basic scaling stops instances after idle_timeout').toBeUndefined();
    expect(worker.manual_scaling?.instances).toBeGreaterThanOrEqual(1);
    expect(worker.instance_class).toMatch(/^B\d/);
  });

  it('give both services a configuration their schema accepts, on the same Redis and key prefixes', async () => {
    const web = await descriptor('web');
    const worker = await descriptor('worker');
    const webConfig = loadWebConfig(instanceEnv(web));
    const workerConfig = loadWorkerConfig(instanceEnv(worker));
    for (const config of [webConfig, workerConfig]) {
      expect(config.platform).toBe('app-engine');
      expect(config.port).toBe(8081);
      expect(config.shutdown.timeoutMs / 1000).toBeLessThanOrEqual(8);
    }
    expect(workerConfig.redis).toEqual(webConfig.redis);
    expect(workerConfig.queue).toEqual(webConfig.queue);
    expect(workerConfig.cache).toEqual(webConfig.cache);
    expect(worker.vpc_access_connector).toEqual(web.vpc_access_connector);
    expect(web.vpc_access_connector?.name).toMatch(/^projects\/[^/]+\/locations\/[^/]+\/connectors\/[a-z][-a-z0-9]*$/);
  });

  it('pass the Google Cloud CLI parser (gcloud app deploy validates app.yaml with it before uploading)', async (ctx) => {
    const gcloud = findExecutable('gcloud');
    if (!gcloud)
      return ctx.skip(
        'gcloud is not installed (it ships its own Python and app.yaml validator); nothing else to check with',
      );
    const sdkRoot = dirname(dirname(realpathSync(gcloud)));
    const bundled = join(sdkRoot, 'platform', 'bundledpythonunix', 'bin', 'python3');
    const python = existsSync(bundled) ? bundled : (findExecutable('python3') ?? 'python3');
    const scratch = await mkdtemp(join(tmpdir(), 'flotilla-gae-'));
    try {
      const script = join(scratch, 'check.py');
      await writeFile(
        script,
        [
          'import json, sys',
          'try:',
          '    from googlecloudsdk.api_lib.app import yaml_parsing',
          'except ImportError as error:',
          "    print('cannot load the gcloud app.yaml parser: %s' % error)",
          '    sys.exit(3)',
          'out = []',
          'for path in sys.argv[1:]:',
          '    info = yaml_parsing.ServiceYamlInfo.FromFile(path)',
          "    out.append({'service': info.module, 'env': str(info.env), 'runtime': info.runtime, 'entrypoint': info.parsed.entrypoint})",
          'print(json.dumps(out))',
        ].join('\n'),
      );
      const lib = join(sdkRoot, 'lib');
      const result = await run(python, [script, repoPath('app.yaml'), repoPath('infra', 'appengine', 'worker.yaml')], {
        env: {
          ...process.env,
          PYTHONPATH: [lib, join(lib, 'third_party')].join(':'),
          CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        },
        timeoutMs: 60_000,
      });
      // An SDK laid out differently is no finding about the descriptors.
      if (result.code === 3) return ctx.skip(`${result.stdout.trim()} (SDK at ${sdkRoot})`);
      expect(result.code, result.stderr).toBe(0);
      const parsed = JSON.parse(result.stdout) as {
        service: string;
        env: string;
        runtime: string;
        entrypoint: string;
      }[];
      expect(parsed.map((p) => [p.service, p.env])).toEqual([
        ['default', 'Environment.STANDARD'],
        ['worker', 'Environment.STANDARD'],
      ]);
      // gcloud prefixes the entrypoint with exec, so the entrypoint's node is the instance's process.
      const commands = await procfileCommands();
      expect(parsed.map((p) => p.entrypoint)).toEqual([
        `exec ${commands.web.join(' ')}`,
        `exec ${commands.worker.join(' ')}`,
      ]);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe('infra/appengine/deploy.sh', () => {
  const files = ['app.yaml', 'infra/appengine/worker.yaml', 'infra/appengine/deploy.sh', 'infra/gcloud-project.sh'];
  const PLACES = { GCP_REGION: 'europe-west1', MEMORYSTORE_HOST: '10.20.30.40' };

  it('deploys both services from the repository root with every placeholder filled, leaving nothing behind', async () => {
    const { result, calls, checkout, leftovers } = await runWithStubGcloud(
      files,
      'infra/appengine/deploy.sh',
      ['--project', 'demo', '--quiet'],
      PLACES,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.cwd).toBe(checkout);
    const [web = '', worker = ''] = call?.args.slice(2, 4) ?? [];
    expect(call?.args).toEqual(['app', 'deploy', web, worker, '--project', 'demo', '--quiet']);
    for (const staged of [web, worker]) {
      expect(staged, 'a descriptor in the root: gcloud uploads the folder that holds it').not.toContain('/');
      const text = call?.files[staged] ?? '';
      expect(text).not.toMatch(/PROJECT_ID|REGION|MEMORYSTORE_HOST/);
      const app = parseYaml(text, staged) as AppYaml;
      expect(app.vpc_access_connector?.name).toBe('projects/demo/locations/europe-west1/connectors/flotilla');
      expect(app.env_variables['REDIS_URL']).toBe('redis://10.20.30.40:6379');
    }
    expect((parseYaml(call?.files[web] ?? '', web) as AppYaml).service ?? 'default').toBe(
      (await descriptor('web')).service ?? 'default',
    );
    expect((parseYaml(call?.files[worker] ?? '', worker) as AppYaml).service).toBe('worker');
    expect(leftovers).toEqual([]);
  });

  it('takes the project from the gcloud configuration when no --project is given', async () => {
    const { result, calls } = await runWithStubGcloud(files, 'infra/appengine/deploy.sh', ['web'], PLACES);
    expect(result.code, result.stderr).toBe(0);
    const deploy = calls.find((c) => c.args[0] === 'app');
    expect(deploy?.files[deploy.args[2] ?? '']).toContain('projects/demo-project/locations/europe-west1/');
  });

  it('refuses to deploy while a placeholder would be left, naming what to set', async () => {
    for (const missing of ['GCP_REGION', 'MEMORYSTORE_HOST'] as const) {
      const env = { ...PLACES, [missing]: '' };
      const { result, calls, leftovers } = await runWithStubGcloud(
        files,
        'infra/appengine/deploy.sh',
        ['--project', 'demo'],
        env,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(missing);
      expect(calls.filter((c) => c.args[0] === 'app')).toEqual([]);
      expect(leftovers).toEqual([]);
    }
  });

  it('deploys one service when asked, and refuses an unknown one', async () => {
    const web = await runWithStubGcloud(files, 'infra/appengine/deploy.sh', ['web', '--project', 'demo'], PLACES);
    expect(web.calls.map((c) => c.args.length)).toEqual([5]);
    const worker = await runWithStubGcloud(files, 'infra/appengine/deploy.sh', ['worker', '--project', 'demo'], PLACES);
    expect(worker.calls.map((c) => c.args.length)).toEqual([5]);
    expect(worker.leftovers).toEqual([]);
    const wrong = await runWithStubGcloud(files, 'infra/appengine/deploy.sh', ['everything'], PLACES);
    expect(wrong.result.code).toBe(2);
    expect(wrong.calls).toEqual([]);
  });
});
