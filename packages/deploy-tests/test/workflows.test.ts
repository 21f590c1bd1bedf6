import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readRepoYaml, repoPath } from './support/paths.js';
import { requireTool, run } from './support/tools.js';

// .github/workflows: CI runs the README's test command through .ci/run, builds and smoke-tests
// the image, and shows publishing and deploying. The workflows are parsed, their actions pinned,
// and every `run:` script goes through shellcheck as GitHub runs it (bash -e -o pipefail).

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  shell?: string;
}
interface Workflow {
  name: string;
  on: unknown;
  permissions?: Record<string, string>;
  jobs: Record<string, { 'runs-on': string; steps: Step[]; services?: Record<string, unknown>; if?: string }>;
}

async function workflows(): Promise<Map<string, Workflow>> {
  const files = (await readdir(repoPath('.github', 'workflows'))).filter((f) => /\.ya?ml$/.test(f)).sort();
  const parsed = new Map<string, Workflow>();
  for (const file of files) parsed.set(file, (await readRepoYaml('.github', 'workflows', file)) as Workflow);
  return parsed;
}

describe('.github/workflows', () => {
  it('ci runs exactly .ci/run as its test step, and builds and runs the image', async () => {
    const ci = (await workflows()).get('ci.yml');
    if (!ci) throw new Error('no ci.yml');
    expect(ci.jobs['test']?.steps.filter((s) => s.run !== undefined).map((s) => s.run)).toEqual(['bash .ci/run']);
    const image = ci.jobs['image'];
    const build = image?.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(build?.with?.['file']).toBe('Dockerfile');
    expect(Object.keys(image?.services ?? {})).toEqual(['redis']);
    expect(image?.steps.map((s) => s.run ?? '').join('\n')).toContain('--user 4242:0');
  });

  it('publishes the image from the Dockerfile and deploys to every platform on demand', async () => {
    const all = await workflows();
    const publish = all.get('publish-image.yml');
    expect(publish?.jobs['publish']?.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'))?.with?.['push']).toBe(true);
    const deploy = all.get('deploy-examples.yml');
    expect(Object.keys(deploy?.jobs ?? {}).sort()).toEqual(['app-engine', 'cloud-run', 'elastic-beanstalk', 'heroku', 'kubernetes', 'openshift']);
    expect(Object.keys(deploy?.on as Record<string, unknown>)).toEqual(['workflow_dispatch']);
  });

  it('pins every action to a major version', async () => {
    for (const [file, workflow] of await workflows()) {
      for (const [job, { steps }] of Object.entries(workflow.jobs)) {
        for (const step of steps.filter((s) => s.uses)) expect(step.uses, `${file} ${job}`).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/);
      }
    }
  });

  it('has run scripts shellcheck accepts', async (ctx) => {
    const shellcheck = requireTool(ctx, { name: 'shellcheck', debianPackage: 'shellcheck', purpose: 'lints the shell scripts and workflow steps' });
    for (const [file, workflow] of await workflows()) {
      for (const [job, { steps }] of Object.entries(workflow.jobs)) {
        for (const step of steps.filter((s) => s.run !== undefined)) {
          // GitHub substitutes ${{ … }} before the shell sees the script.
          const script = `#!/usr/bin/env bash\nset -eo pipefail\n${(step.run ?? '').replace(/\$\{\{[^}]*\}\}/g, 'GITHUB_EXPRESSION')}`;
          const result = await run(shellcheck, ['--shell=bash', '-'], { input: script });
          expect(result.stdout, `${file} ${job} ${step.name ?? step.run}`).toBe('');
        }
      }
    }
  });
});
