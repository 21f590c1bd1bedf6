import { cp, lstat, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { catalog } from '@flotilla/jobs';
import { freePort } from '@flotilla/local-redis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyBuildContext } from './support/build-context.js';
import { runJobsThrough, startDeployed, type DeployedPair } from './support/deployed-services.js';
import { instructions, readDockerfile, stage, stageChain, type ParsedDockerfile } from './support/dockerfile.js';
import { repoPath } from './support/paths.js';
import { parseProcfile, procfileCommands, splitCommand } from './support/procfile.js';
import { findExecutable, run, runOk } from './support/tools.js';

// The image build rehearsed without a Docker engine, so a machine without one still checks it:
// the build stage's COPY and RUN instructions, in order, in a fresh directory holding only the
// build context (.dockerignore applied), with pnpm offline from the local store. Then it starts
// web and worker from the folder the runtime stage copies, with plain node and the image's ENV,
// exactly as the image's CMD would, and runs jobs through them. The base image, tini, apt, the
// USER, file ownership, HEALTHCHECK timing and the image's size are docker-image.test.ts's,
// which builds and runs the real image wherever an engine answers (CI starts one).

let dockerfile: ParsedDockerfile;
let contextDir = '';
let appDir = '';
const log: string[] = [];

/** The parent's environment minus what pnpm and vitest put there, offline, with node and pnpm first on PATH. */
function buildEnv(): NodeJS.ProcessEnv {
  const pnpm = findExecutable('pnpm');
  if (!pnpm) throw new Error('pnpm is not on the PATH (the README commands install it into .toolchain)');
  const keep = Object.entries(process.env).filter(
    ([name]) => !/^(npm_|PNPM_|pnpm_|INIT_CWD$|NODE_PATH$|VITEST)/i.test(name),
  );
  const systemPath = (process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir && !dir.includes('node_modules'));
  return {
    ...Object.fromEntries(keep),
    PATH: [dirname(process.execPath), dirname(pnpm), ...systemPath].join(delimiter),
    // The store filled by the repository's own install: no network, as in a cached build.
    PNPM_CONFIG_OFFLINE: 'true',
    // The release-age policy reads publish times from registry metadata an offline rehearsal may
    // not hold; the repository's own install has checked this lockfile against it already.
    PNPM_CONFIG_MINIMUM_RELEASE_AGE: '0',
  };
}

async function sizeOf(
  path: string,
  seen = new Set<number>(),
): Promise<{ bytes: number; files: number; shared: number }> {
  const stats = await lstat(path);
  if (stats.isSymbolicLink()) return { bytes: 0, files: 0, shared: 0 };
  if (!stats.isDirectory()) {
    // Hard links (pnpm imports from its store) count once, as in one image layer.
    if (seen.has(stats.ino)) return { bytes: 0, files: 0, shared: stats.size };
    seen.add(stats.ino);
    return { bytes: stats.size, files: 1, shared: 0 };
  }
  const total = { bytes: 0, files: 0, shared: 0 };
  for (const entry of await readdir(path)) {
    const child = await sizeOf(join(path, entry), seen);
    total.bytes += child.bytes;
    total.files += child.files;
    total.shared += child.shared;
  }
  return total;
}

const MB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

beforeAll(async () => {
  dockerfile = await readDockerfile();
  contextDir = await mkdtemp(join(tmpdir(), 'flotilla-image-build-'));
  const env = buildEnv();
  const pnpmVersion = (await runOk('pnpm', ['--version'], { env })).stdout.trim();
  for (const current of stageChain(dockerfile, 'build')) {
    for (const step of current.instructions) {
      if (step.keyword === 'WORKDIR')
        expect(step.args, 'the build runs in one WORKDIR, mapped to the fresh directory').toBe('/src');
      if (step.keyword === 'COPY') {
        expect(step.flags['from'], 'build stages copy from the context').toBeUndefined();
        const words = step.args.split(/\s+/);
        expect(words.at(-1), 'COPY … into the WORKDIR').toMatch(/^\.\/?$/);
        const copied = await copyBuildContext(words.slice(0, -1), contextDir);
        log.push(`COPY ${words.slice(0, -1).join(' ')}: ${copied.length} files`);
      }
      if (step.keyword === 'RUN') {
        // The toolchain step installs the pnpm this test already runs (the same major; the exact
        // release is checked against with-toolchain.sh in dockerfile.test.ts).
        const tool = /npm install --global .*\bpnpm@(\S+)/.exec(step.args);
        if (tool) {
          expect(tool[1]?.split('.')[0], `pnpm ${tool[1]} in the image, ${pnpmVersion} here`).toBe(
            pnpmVersion.split('.')[0],
          );
          continue;
        }
        const started = Date.now();
        const result = await run('sh', ['-c', `set -e; ${step.args}`], { cwd: contextDir, env, timeoutMs: 300_000 });
        log.push(`RUN ${step.args.slice(0, 60)}…: exit ${String(result.code)} in ${Date.now() - started} ms`);
        if (result.code !== 0)
          throw new Error(`Dockerfile line ${step.line} failed: RUN ${step.args}\n${result.stdout}\n${result.stderr}`);
      }
    }
  }
  const [copy, ...more] = instructions(stage(dockerfile, 'runtime'), 'COPY');
  expect(more, 'the runtime stage copies one folder').toEqual([]);
  const source = /^\/src\/(\S+?)\/?\s+\/app\/?$/.exec(copy?.args ?? '');
  expect(copy?.flags['from']).toBe('build');
  appDir = join(contextDir, source?.[1] ?? 'missing');
}, 600_000);

afterAll(async () => {
  if (log.length > 0) console.info(`image build steps:\n  ${log.join('\n  ')}`);
  if (contextDir) await rm(contextDir, { recursive: true, force: true });
});

describe('Dockerfile build stage, run for real', () => {
  it('leaves only compiled code, package.json and production dependencies for the runtime stage', async () => {
    expect((await readdir(appDir)).sort()).toEqual(['services']);
    for (const service of ['web', 'worker']) {
      const dir = join(appDir, 'services', service);
      expect((await readdir(dir)).sort()).toEqual(['dist', 'node_modules', 'package.json']);
      expect((await stat(join(dir, 'dist', 'main.js'))).isFile()).toBe(true);
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        devDependencies?: Record<string, string>;
      };
      const installed = await readdir(join(dir, 'node_modules', '.pnpm'));
      for (const dev of [...Object.keys(manifest.devDependencies ?? {}), 'typescript', 'vitest', 'eslint']) {
        const stored = dev.replace('/', '+');
        expect(
          installed.filter((entry) => entry.startsWith(`${stored}@`)),
          `${service}: devDependency ${dev}`,
        ).toEqual([]);
      }
    }
  });

  it('stays small: the deployed folder is the stand-in for the image size', async () => {
    const shared = new Set<number>();
    const web = await sizeOf(join(appDir, 'services', 'web'));
    const worker = await sizeOf(join(appDir, 'services', 'worker'));
    const together = await sizeOf(appDir, shared);
    console.info(
      `deployed output (the image's /app): web ${MB(web.bytes)} (${web.files} files), worker ${MB(worker.bytes)} (${worker.files} files), ` +
        `both ${MB(together.bytes)} with hard-linked files counted once (${MB(together.shared)} shared), ${MB(web.bytes + worker.bytes)} without`,
    );
    // A guard against a devDependency, a store or the sources slipping into the image.
    expect(web.bytes + worker.bytes).toBeLessThan(250 * 1024 * 1024);
  });
});

describe('services started from the deployed folder as the image starts them', () => {
  let pair: DeployedPair | undefined;

  afterAll(async () => {
    await pair?.stop();
  });

  it('run web (the image CMD) and worker (the Procfile command) with plain node and the image ENV, and process jobs', async () => {
    const cmd = instructions(stage(dockerfile, 'runtime'), 'CMD')[0]?.argv ?? [];
    const commands = await procfileCommands();
    expect(cmd).toEqual(commands.web);
    const imageEnv = Object.fromEntries(
      instructions(stage(dockerfile, 'runtime'), 'ENV').map((e) => {
        const [name = '', value = ''] = e.args.split('=', 2);
        return [name, value];
      }),
    );
    expect(imageEnv['NODE_ENV']).toBe('production');
    pair = await startDeployed(appDir, { web: cmd, worker: commands.worker }, imageEnv, inject('redisUrl'));
    expect(await runJobsThrough(pair.web)).toEqual(['fib:completed', 'sleep:completed']);
    // What an autoscaler without Prometheus (a Heroku add-on, a cron job) reads.
    const overview = (await (await fetch(`${pair.web.url}/api/queues`)).json()) as {
      queues: { name: string; oldestWaitingSeconds: number }[];
    };
    expect(overview.queues.map((q) => q.name)).toEqual(catalog.queues.map((q) => q.name));
    for (const queue of overview.queues) expect(typeof queue.oldestWaitingSeconds).toBe('number');
  }, 90_000);

  it('pass the image HEALTHCHECK, on PORT and on the default ports, and fail it when nothing answers', async () => {
    if (!pair) throw new Error('services not started');
    const healthcheck = instructions(stage(dockerfile, 'runtime'), 'HEALTHCHECK')[0]?.argv ?? [];
    expect(healthcheck.slice(0, 2)).toEqual(['node', '-e']);
    const check = async (port: string | undefined): Promise<number | null> => {
      const env = { ...process.env };
      delete env['PORT'];
      if (port !== undefined) env['PORT'] = port;
      return (await run(process.execPath, healthcheck.slice(1), { cwd: appDir, env, timeoutMs: 15_000 })).code;
    };
    expect(await check(String(pair.web.port))).toBe(0);
    expect(await check(String(pair.worker.port))).toBe(0);
    expect(await check(String(await freePort()))).toBe(1);
  });

  it('exit 0 on SIGTERM, as the platforms stop containers', async () => {
    if (!pair) throw new Error('services not started');
    const exits = await Promise.all([pair.web.stop(20_000), pair.worker.stop(20_000)]);
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    pair = undefined;
  }, 45_000);
});

describe('Elastic Beanstalk bundle, built from the same checkout', () => {
  let pair: DeployedPair | undefined;

  afterAll(async () => {
    await pair?.stop();
  });

  it('holds compiled code, hoisted production dependencies (no symlinks), the Procfile and the platform config', async () => {
    // bundle.sh runs in a checkout; give the build directory the files the image does not need.
    for (const path of ['Procfile', 'infra/elasticbeanstalk'])
      await cp(repoPath(path), join(contextDir, path), { recursive: true });
    const env = { ...buildEnv(), FLOTILLA_EB_NO_ZIP: '1' };
    for (const mode of ['worker', 'all']) {
      await runOk('bash', ['infra/elasticbeanstalk/bundle.sh', mode], { cwd: contextDir, env, timeoutMs: 300_000 });
    }
    const bundle = join(contextDir, 'dist', 'eb', 'all');
    const { stdout: links } = await runOk('find', [bundle, '-type', 'l']);
    expect(links.trim(), 'symlinks in the bundle').toBe('');
    expect((await readdir(join(bundle, '.ebextensions'))).sort()).toEqual(['common.config', 'load-balanced.config']);
    expect(
      (await stat(join(bundle, '.platform', 'nginx', 'conf.d', 'elasticbeanstalk', 'flotilla.conf'))).isFile(),
    ).toBe(true);

    const commands = await procfileCommands();
    const all = parseProcfile(await readFile(join(bundle, 'Procfile'), 'utf8'));
    expect([...all.keys()]).toEqual(['web', 'worker']);
    expect(splitCommand(all.get('web') ?? '')).toEqual(commands.web);
    expect(splitCommand(all.get('worker') ?? '')).toEqual(['env', 'PORT=3001', ...commands.worker]);
    const worker = parseProcfile(await readFile(join(contextDir, 'dist', 'eb', 'worker', 'Procfile'), 'utf8'));
    expect([...worker.entries()]).toEqual([['web', commands.worker.join(' ')]]);
    expect(await readdir(join(contextDir, 'dist', 'eb', 'worker', 'services'))).toEqual(['worker']);

    pair = await startDeployed(bundle, commands, { NODE_ENV: 'production' }, inject('redisUrl'));
    expect(await runJobsThrough(pair.web)).toEqual(['fib:completed', 'sleep:completed']);
  }, 300_000);
});
