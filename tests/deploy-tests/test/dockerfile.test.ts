import { readdir } from 'node:fs/promises';
import { loadWebConfig, loadWorkerConfig } from '@flotilla/config';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildContextFilter } from './support/build-context.js';
import { instructions, readDockerfile, stage, type ParsedDockerfile } from './support/dockerfile.js';
import { readRepoText, repoPath } from './support/paths.js';
import { procfileCommands } from './support/procfile.js';

// The Dockerfile read statically: the linter behind VS Code's Docker support (dockerfile-utils)
// plus the rules of hadolint and of the Node and pnpm Docker guides that matter here (hadolint
// itself is neither a Debian package in bookworm nor an npm package). docker-build.test.ts runs
// the build steps themselves.

let dockerfile: ParsedDockerfile;
let toolchain: { nodeMajor: number; pnpmVersion: string };

beforeAll(async () => {
  dockerfile = await readDockerfile();
  const script = await readRepoText('tools', 'devstack', 'bin', 'with-toolchain.sh');
  toolchain = {
    nodeMajor: Number(/readonly NODE_MAJOR=(\d+)/.exec(script)?.[1]),
    pnpmVersion: /readonly PNPM_VERSION=(\S+)/.exec(script)?.[1] ?? '',
  };
});

const runtime = (): ReturnType<typeof stage> => stage(dockerfile, 'runtime');

describe('Dockerfile', () => {
  it('has no linter findings', () => {
    const findings = dockerfile.diagnostics.map(
      (d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
    );
    expect(findings).toEqual([]);
  });

  it('builds in stages and runs from a final stage named runtime', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['toolchain', 'build', 'runtime']);
    expect(dockerfile.stages.at(-1)?.name).toBe('runtime');
  });

  it('pins every base image to a patch release of the Node major the repository uses', () => {
    const external = dockerfile.stages.filter((s) => !dockerfile.stages.some((other) => other.name === s.base));
    expect(external.length).toBeGreaterThan(0);
    for (const s of external) {
      const match = /^node:(\d+)\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/.exec(s.base);
      expect(match, `${s.name}: ${s.base}`).not.toBeNull();
      expect(Number(match?.[1]), 'NODE_MAJOR in with-toolchain.sh').toBe(toolchain.nodeMajor);
    }
  });

  it('installs the pnpm release of with-toolchain.sh', () => {
    const install = instructions(stage(dockerfile, 'toolchain'), 'RUN')
      .map((r) => r.args)
      .join('\n');
    expect(install).toContain(`pnpm@${toolchain.pnpmVersion}`);
  });

  it('installs from the frozen lockfile and deploys each service with production dependencies only', () => {
    const build = instructions(stage(dockerfile, 'build'), 'RUN').map((r) => r.args);
    expect(build.some((args) => /pnpm install\b.*--frozen-lockfile/.test(args))).toBe(true);
    for (const service of ['web', 'worker']) {
      expect(
        build.some((args) => args.includes(`--filter @flotilla/${service} --prod deploy`)),
        service,
      ).toBe(true);
    }
  });

  it('copies into the runtime stage only what the build stage produced', () => {
    const copies = [...instructions(runtime(), 'COPY'), ...instructions(runtime(), 'ADD')];
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy.flags['from'], `line ${copy.line}`).toBe('build');
    expect(
      dockerfile.stages.flatMap((s) => instructions(s, 'ADD')),
      'COPY, not ADD',
    ).toEqual([]);
  });

  it('runs as a numeric non-root user', () => {
    const users = instructions(runtime(), 'USER');
    const last = users.at(-1)?.args ?? '';
    expect(last, 'a number: runAsNonRoot cannot check a user name').toMatch(/^\d+(:\d+)?$/);
    expect(Number(last.split(':')[0])).toBeGreaterThan(0);
  });

  it('starts the web by default with node itself under tini (exec form, no npm or pnpm)', async () => {
    const entrypoint = instructions(runtime(), 'ENTRYPOINT').at(-1)?.argv;
    const cmd = instructions(runtime(), 'CMD').at(-1)?.argv;
    expect(entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(cmd).toEqual((await procfileCommands()).web);
    expect(dockerfile.text, 'the header shows how to run the worker').toContain(
      (await procfileCommands()).worker.join(' '),
    );
  });

  it('exposes the default ports of web and worker and checks health over HTTP', () => {
    const env = { REDIS_URL: 'redis://127.0.0.1:6379' };
    const exposed = instructions(runtime(), 'EXPOSE')
      .flatMap((e) => e.args.split(/\s+/))
      .map(Number);
    expect(exposed).toEqual(expect.arrayContaining([loadWebConfig(env).port, loadWorkerConfig(env).port]));
    const healthcheck = instructions(runtime(), 'HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    expect(healthcheck[0]?.argv?.slice(0, 2)).toEqual(['node', '-e']);
    expect(healthcheck[0]?.argv?.[2]).toContain('/healthz');
  });

  it('installs Debian packages without recommends, pinned, and leaves no apt lists behind', () => {
    for (const run of dockerfile.stages.flatMap((s) => instructions(s, 'RUN'))) {
      if (!run.args.includes('apt-get install')) continue;
      expect(run.args).toContain('--no-install-recommends');
      expect(run.args).toContain('rm -rf /var/lib/apt/lists/*');
      const packages = /apt-get install\s+((?:-\S+\s+)*)(.*?)(?:&&|$)/.exec(run.args)?.[2]?.trim().split(/\s+/) ?? [];
      for (const name of packages)
        expect(name.replace(/^'(.*)'$/, '$1'), 'pinned like tini=0.19.0-1*').toMatch(/^[a-z0-9.+-]+=\S+$/);
    }
  });

  it('keeps pipes out of RUN or fails them properly, and sets no secret in ENV or ARG', () => {
    for (const run of dockerfile.stages.flatMap((s) => instructions(s, 'RUN'))) {
      if (/[^|]\|[^|]/.test(run.args)) expect(run.args, `line ${run.line}`).toContain('set -o pipefail');
    }
    for (const declaration of dockerfile.stages.flatMap((s) => [
      ...instructions(s, 'ENV'),
      ...instructions(s, 'ARG'),
    ])) {
      expect(declaration.args, `line ${declaration.line}`).not.toMatch(/SECRET|TOKEN|PASSWORD|REDIS_URL/i);
    }
  });
});

describe('.dockerignore', () => {
  it('keeps host build output, dependencies and repository metadata out of the build context', async () => {
    const included = await buildContextFilter();
    for (const path of [
      'node_modules/x',
      'services/web/node_modules/x',
      'services/web/dist/main.js',
      'packages/config/tsconfig.tsbuildinfo',
      'packages/config/test/load-config.test.ts',
      '.git/HEAD',
      '.toolchain/node_modules/.bin/node',
      'k8s/base/kustomization.yaml',
      'Dockerfile',
    ]) {
      expect(included(path), path).toBe(false);
    }
  });

  it('sends everything the build reads: lockfile, workspace manifests and sources', async () => {
    const included = await buildContextFilter();
    const workspaces = ['bench'];
    for (const folder of ['packages', 'example', 'tools', 'tests', 'services'])
      workspaces.push(...(await readdir(repoPath(folder))).map((name) => `${folder}/${name}`));
    for (const path of [
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      '.npmrc',
      'package.json',
      'tsconfig.base.json',
      'services/web/src/main.ts',
      ...workspaces.map((w) => `${w}/package.json`),
    ]) {
      expect(included(path), path).toBe(true);
    }
  });
});
