import { spawn } from 'node:child_process';
import { findExecutable } from '@flotilla/local-redis';
import type { TestContext } from 'vitest';

export { findExecutable };

/** How a test gets a tool it needs: the Debian package CI installs, or none (optional tool). */
export interface ToolRequirement {
  readonly name: string;
  /** Debian package that .ci/run installs; when set, a missing tool fails in CI. */
  readonly debianPackage?: string;
  /** What the test does with it, for the skip message. */
  readonly purpose: string;
}

/**
 * Path of a tool for a test. Missing, it fails the test in CI when CI is meant to install it (a
 * Debian package), and skips it with the install hint everywhere else.
 */
export function requireTool(ctx: TestContext, tool: ToolRequirement): string {
  const path = findExecutable(tool.name);
  if (path) return path;
  const missing = `${tool.name} was not found on the PATH (${tool.purpose})`;
  if (tool.debianPackage && process.env['CI'] === 'true') {
    throw new Error(`${missing}; CI must install it: \`apt-get install ${tool.debianPackage}\``);
  }
  const hint = tool.debianPackage
    ? `install it with \`sudo apt-get install ${tool.debianPackage}\` (Debian/Ubuntu)`
    : 'install it to run this check';
  return ctx.skip(`${missing}; ${hint}`);
}

/** What a finished command printed and how it ended. */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of `run`. */
export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Runs a command to completion (no shell) and collects its output. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.timeoutMs ? { timeout: options.timeoutMs, killSignal: 'SIGKILL' as const } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    // A command that exits without reading its input closes the pipe under us (EPIPE); its exit
    // code and output say what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command and throws, quoting its output, unless it exits with 0. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `\`${[command, ...args].join(' ')}\` exited with ${String(result.code)}\n${result.stdout}\n${result.stderr}`.trimEnd(),
    );
  }
  return result;
}
