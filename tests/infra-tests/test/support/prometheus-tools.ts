import { spawn } from 'node:child_process';
import { findExecutable } from '@flotilla/local-redis';
import type { TestContext } from 'vitest';

/** The two binaries of Debian's `prometheus` package the tests use. */
export type PrometheusTool = 'promtool' | 'prometheus';

/** Path of `name` on the PATH, or undefined when it is not installed. */
export function findTool(name: PrometheusTool): string | undefined {
  return findExecutable(name);
}

/**
 * Path of a Prometheus binary for a test. When it is missing the test fails in CI (which
 * installs it, so missing there is a broken CI) and is skipped, with the install command, on a
 * developer's machine.
 */
export function requireTool(ctx: TestContext, name: PrometheusTool): string {
  const path = findTool(name);
  if (path) return path;
  const missing = `${name} was not found on the PATH`;
  if (process.env['CI'] === 'true') {
    throw new Error(
      `${missing}; CI must run the Prometheus tests: .ci/run installs it with \`apt-get install prometheus\``,
    );
  }
  return ctx.skip(`${missing}; install it to run this test: \`sudo apt-get install prometheus\` (Debian/Ubuntu)`);
}

/** What a finished command printed and how it ended. */
export interface CommandResult {
  readonly code: number | null;
  /** stdout and stderr, interleaved as written. */
  readonly output: string;
}

/** Runs a command to completion (no shell) and collects its output. */
export async function run(command: string, args: readonly string[], cwd?: string): Promise<CommandResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}
