import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseYaml, readRepoText, repoPath } from './support/paths.js';

// The package.json files as the platforms' build tools read them: strictly, and for the package
// manager they should install.

interface Manifest {
  packageManager?: string;
  engines?: Record<string, string>;
}

/** Every package.json of the workspace (pnpm-workspace.yaml's globs are one level deep), and the root's. */
async function manifestPaths(): Promise<string[]> {
  const workspace = parseYaml(await readRepoText('pnpm-workspace.yaml'), 'pnpm-workspace.yaml') as {
    packages: string[];
  };
  const paths = ['package.json'];
  for (const glob of workspace.packages) {
    if (!glob.endsWith('/*')) {
      paths.push(`${glob}/package.json`);
      continue;
    }
    const folder = glob.slice(0, -2);
    for (const entry of await readdir(repoPath(folder), { withFileTypes: true }))
      if (entry.isDirectory()) paths.push(`${folder}/${entry.name}/package.json`);
  }
  return paths;
}

async function pnpmOfToolchain(): Promise<string> {
  const script = await readRepoText('tools', 'devstack', 'bin', 'with-toolchain.sh');
  return /readonly PNPM_VERSION=(\S+)/.exec(script)?.[1] ?? '';
}

describe('package.json files', () => {
  it('have no key twice (JSON.parse keeps the last one silently)', async () => {
    const paths = await manifestPaths();
    expect(paths.length).toBeGreaterThan(10);
    for (const path of paths) {
      const text = await readRepoText(path);
      expect(() => parseYaml(text, path), path).not.toThrow();
    }
  });

  it('declare the pnpm release the repository uses, where each platform looks for it', async () => {
    const root = JSON.parse(await readRepoText('package.json')) as Manifest;
    const version = await pnpmOfToolchain();
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    // Heroku's Node.js buildpack and Google's buildpacks (App Engine, Cloud Run from source) both
    // install the pnpm that engines.pnpm names. Heroku's would prefer a packageManager field, but
    // pnpm 12 then records that pin in pnpm-lock.yaml and could not resolve it from the registry
    // here, failing every frozen install; so engines.pnpm alone, exact, and no packageManager.
    expect(root.engines?.['pnpm']).toBe(version);
    expect(root.packageManager).toBeUndefined();
    const dockerfile = await readRepoText('Dockerfile');
    expect(/^ARG PNPM_VERSION=(\S+)$/m.exec(dockerfile)?.[1], 'the Dockerfile').toBe(version);
  });
});
