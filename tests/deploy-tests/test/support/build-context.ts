import { copyFile, lstat, mkdir, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, posix, relative, sep } from 'node:path';
import type { Ignore } from '@balena/dockerignore';
import { repoRoot } from './paths.js';

// @balena/dockerignore implements Docker's own .dockerignore matching (Go filepath.Match
// patterns, `**`, exceptions with `!`). It is a CommonJS module whose typings declare an ES
// default export, so it is loaded with require to get the function itself.
const require = createRequire(import.meta.url);
const dockerignore = require('@balena/dockerignore') as (options?: { ignorecase?: boolean }) => Ignore;

/** The build context as Docker sends it: every repository path .dockerignore does not exclude. */
export async function buildContextFilter(): Promise<(path: string) => boolean> {
  const rules = await readFile(join(repoRoot, '.dockerignore'), 'utf8');
  const ignore = dockerignore({ ignorecase: false }).add(rules.split('\n'));
  return (path) => !ignore.ignores(path);
}

/**
 * Copies the part of the build context that `COPY <sources> <dest>` would copy (sources relative
 * to the context root, `.` for all of it) into `target`. Excluded folders are not walked, as
 * long as .dockerignore has no exception (`!`) that could bring something back inside them.
 */
export async function copyBuildContext(sources: readonly string[], target: string): Promise<string[]> {
  const included = await buildContextFilter();
  const rules = await readFile(join(repoRoot, '.dockerignore'), 'utf8');
  const hasExceptions = rules.split('\n').some((line) => line.trim().startsWith('!'));
  const copied: string[] = [];

  async function visit(path: string): Promise<void> {
    const absolute = join(repoRoot, path);
    const stats = await lstat(absolute);
    // The context root itself is always sent.
    const keep = path === '' || included(path);
    if (stats.isDirectory()) {
      if (!keep && !hasExceptions) return;
      for (const entry of await readdir(absolute)) await visit(path ? posix.join(path, entry) : entry);
      return;
    }
    if (!keep) return;
    const destination = join(target, ...path.split('/'));
    await mkdir(dirname(destination), { recursive: true });
    if (stats.isSymbolicLink()) await symlink(await readlink(absolute), destination);
    else await copyFile(absolute, destination);
    copied.push(path);
  }

  for (const source of sources) {
    const normalized =
      source === '.' || source === './' ? '' : relative(repoRoot, join(repoRoot, source)).split(sep).join('/');
    await visit(normalized);
  }
  return copied;
}
