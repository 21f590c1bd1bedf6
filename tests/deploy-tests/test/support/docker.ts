import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TestContext } from 'vitest';
import { repoPath } from './paths.js';
import { findExecutable, run, type CommandResult } from './tools.js';

/** A Docker CLI that reaches a running engine. */
export interface Docker {
  /** Runs `docker <args>`; rejects with its output when it fails. */
  ok(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Runs `docker <args>` and returns however it ended. */
  run(args: readonly string[], timeoutMs?: number): Promise<CommandResult>;
}

const ENGINE_HINT = 'install docker.io and start `dockerd --bridge=none --iptables=false` as root (.ci/run does both)';

/** The Docker CLI when `docker info` shows an engine answering, else why not. */
export async function findDocker(): Promise<Docker | string> {
  const binary = findExecutable('docker');
  if (!binary) return 'docker was not found on the PATH';
  const docker: Docker = {
    run: (args, timeoutMs = 120_000) => run(binary, args, { timeoutMs }),
    async ok(args, timeoutMs) {
      const result = await docker.run(args, timeoutMs);
      if (result.code !== 0)
        throw new Error(`docker ${args.join(' ')} failed (${result.code}):\n${result.stderr || result.stdout}`);
      return result.stdout.trim();
    },
  };
  const answers = (await docker.run(['info', '--format', '{{.ServerVersion}}'], 20_000)).code === 0;
  return answers ? docker : 'no Docker engine answers';
}

/**
 * What `findDocker` found, for a test: without an engine the test fails in CI, which starts one,
 * and is skipped elsewhere with the hint.
 */
export function requireDocker(ctx: TestContext, found: Docker | string): Docker {
  if (typeof found !== 'string') return found;
  if (process.env['CI'] === 'true') throw new Error(`${found}; CI must provide one: ${ENGINE_HINT}`);
  return ctx.skip(`${found}; ${ENGINE_HINT}`);
}

/** The Dockerfile's base image, as its NODE_IMAGE argument names it. */
export async function baseImageTag(): Promise<string> {
  const dockerfile = await readFile(repoPath('Dockerfile'), 'utf8');
  const tag = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  if (!tag) throw new Error('the Dockerfile has no ARG NODE_IMAGE=…');
  return tag;
}

/**
 * Builds the repository's Dockerfile as a user would (`docker build .`), with host networking
 * (the engine here has no bridge). The base image must be there: registries are unreachable, so
 * a stand-in is built under its tag first when missing (tests/deploy-tests/bin).
 */
export async function buildImage(
  docker: Docker,
): Promise<{ readonly tag: string; readonly base: string; readonly seconds: number }> {
  const base = await baseImageTag();
  if ((await docker.run(['image', 'inspect', base], 30_000)).code !== 0) {
    const script = repoPath('tests', 'deploy-tests', 'bin', 'base-image-stand-in.sh');
    const result = await run('bash', [script], { timeoutMs: 900_000 });
    if (result.code !== 0) throw new Error(`building a stand-in for ${base} failed:\n${result.stderr}`);
  }
  const tag = `flotilla-test:${randomBytes(4).toString('hex')}`;
  const started = Date.now();
  await docker.ok(['build', '--network', 'host', '--tag', tag, repoPath()], 900_000);
  return { tag, base, seconds: (Date.now() - started) / 1000 };
}

/** A container started for a test; `remove` force-removes it (idempotent). */
export interface Container {
  readonly id: string;
  readonly name: string;
  logs(): Promise<string>;
  /** `docker stop` with a grace period; resolves with the exit code and how long the stop took. */
  stop(graceSeconds?: number): Promise<{ readonly exitCode: number; readonly seconds: number }>;
  inspect<T = unknown>(format: string): Promise<T>;
  remove(): Promise<void>;
}

/** `docker run --detach --network host` with the given options, image and command. */
export async function startContainer(
  docker: Docker,
  image: string,
  options: readonly string[],
  command: readonly string[] = [],
): Promise<Container> {
  const name = `flotilla-test-${randomBytes(4).toString('hex')}`;
  const id = await docker.ok(['run', '--detach', '--network', 'host', '--name', name, ...options, image, ...command]);
  return {
    id,
    name,
    async logs() {
      const result = await docker.run(['logs', name]);
      return result.stdout + result.stderr;
    },
    async stop(graceSeconds = 30) {
      const started = Date.now();
      await docker.ok(['stop', '--time', String(graceSeconds), name], (graceSeconds + 30) * 1000);
      const seconds = (Date.now() - started) / 1000;
      return { exitCode: Number(await docker.ok(['inspect', '--format', '{{.State.ExitCode}}', name])), seconds };
    },
    async inspect<T>(format: string) {
      return JSON.parse(await docker.ok(['inspect', '--format', `{{json ${format}}}`, name])) as T;
    },
    async remove() {
      await docker.run(['rm', '--force', name]);
    },
  };
}
