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
  env?: Record<string, string>;
  jobs: Record<
    string,
    {
      'runs-on': string;
      steps: Step[];
      services?: Record<string, unknown>;
      if?: string;
      permissions?: Record<string, string>;
    }
  >;
}

/**
 * The current major of each action the workflows use, read from the actions' release tags on
 * 2026-12-07 (azure/setup-kubectl's from its release notes: v5, the same inputs on Node 24).
 */
const CURRENT_MAJORS: Readonly<Record<string, number>> = {
  'actions/checkout': 7,
  'actions/attest-build-provenance': 4,
  'docker/setup-qemu-action': 4,
  'docker/setup-buildx-action': 4,
  'docker/login-action': 4,
  'docker/metadata-action': 6,
  'docker/build-push-action': 7,
  'google-github-actions/auth': 3,
  'google-github-actions/setup-gcloud': 3,
  'aws-actions/configure-aws-credentials': 6,
  'redhat-actions/openshift-tools-installer': 3,
  'azure/setup-kubectl': 5,
};

/** Actions that exchange the job's OIDC token, the only ones that need id-token: write. */
const OIDC_ACTIONS = [
  'google-github-actions/auth',
  'aws-actions/configure-aws-credentials',
  'actions/attest-build-provenance',
];

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
    expect(
      publish?.jobs['publish']?.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'))?.with?.['push'],
    ).toBe(true);
    const deploy = all.get('deploy-examples.yml');
    expect(Object.keys(deploy?.jobs ?? {}).sort()).toEqual([
      'app-engine',
      'cloud-run',
      'elastic-beanstalk',
      'heroku',
      'kubernetes',
      'openshift',
    ]);
    expect(Object.keys(deploy?.on as Record<string, unknown>)).toEqual(['workflow_dispatch']);
  });

  it('pins every action to a major version', async () => {
    for (const [file, workflow] of await workflows()) {
      for (const [job, { steps }] of Object.entries(workflow.jobs)) {
        for (const step of steps.filter((s) => s.uses))
          expect(step.uses, `${file} ${job}`).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/);
      }
    }
  });

  it('uses the current major of every action', async () => {
    for (const [file, workflow] of await workflows()) {
      for (const [job, { steps }] of Object.entries(workflow.jobs)) {
        for (const step of steps.filter((s) => s.uses)) {
          const [action = '', version = ''] = (step.uses ?? '').split('@');
          expect(
            CURRENT_MAJORS[action],
            `${file} ${job}: ${action} is not in the list of current majors`,
          ).toBeDefined();
          expect(Number(/^v(\d+)$/.exec(version)?.[1]), `${file} ${job}: ${step.uses}`).toBeGreaterThanOrEqual(
            CURRENT_MAJORS[action] ?? Infinity,
          );
        }
      }
    }
  });

  it('grants id-token: write only to the jobs that exchange an OIDC token', async () => {
    for (const [file, workflow] of await workflows()) {
      expect(workflow.permissions?.['id-token'], `${file}: workflow-wide id-token`).toBeUndefined();
      for (const [job, { steps, permissions }] of Object.entries(workflow.jobs)) {
        const usesOidc = steps.some((s) => OIDC_ACTIONS.some((action) => s.uses?.startsWith(`${action}@`)));
        expect(permissions?.['id-token'] === 'write', `${file} ${job}`).toBe(usesOidc);
      }
    }
  });

  it('spells image references in lower case, as registries require (owner and repository names may not be)', async () => {
    for (const [file, workflow] of await workflows()) {
      const text = JSON.stringify(workflow);
      expect(text, file).not.toMatch(/ghcr\.io\/\$\{\{\s*github\.repository\s*\}\}/);
      expect(text, file).not.toMatch(/ghcr\.io\/\$\{\{\s*github\.repository_owner\s*\}\}/);
    }
  });

  it('has run scripts shellcheck accepts', async (ctx) => {
    const shellcheck = requireTool(ctx, {
      name: 'shellcheck',
      debianPackage: 'shellcheck',
      purpose: 'lints the shell scripts and workflow steps',
    });
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
