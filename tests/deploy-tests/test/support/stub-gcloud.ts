import { chmod, cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { repoPath } from './paths.js';
import { run, type CommandResult } from './tools.js';

/** One call of the stub gcloud: where it ran, its arguments, and the YAML files it was given. */
export interface GcloudCall {
  readonly cwd: string;
  readonly args: string[];
  readonly files: Record<string, string>;
}

// A stand-in for the Google Cloud CLI that records each call (and the descriptors it was handed,
// which the scripts delete afterwards) and answers `gcloud config get-value project`.
const STUB = `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
const files = {};
for (const arg of args) if (/\\.ya?ml$/.test(arg) && fs.existsSync(arg)) files[arg] = fs.readFileSync(arg, 'utf8');
fs.appendFileSync(process.env.STUB_GCLOUD_LOG, JSON.stringify({ cwd: process.cwd(), args, files }) + '\\n');
if (args.join(' ') === 'config get-value project') process.stdout.write('demo-project\\n');
`;

/**
 * Copies repository files into a scratch checkout, runs a script there with the stub gcloud
 * first on the PATH, and returns the script's result and the calls gcloud received.
 */
export async function runWithStubGcloud(
  files: readonly string[],
  script: string,
  args: readonly string[],
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<{ result: CommandResult; calls: GcloudCall[]; checkout: string; leftovers: string[] }> {
  const scratch = await mkdtemp(join(tmpdir(), 'flotilla-gcloud-'));
  try {
    const checkout = join(scratch, 'repo');
    for (const file of files) {
      await mkdir(dirname(join(checkout, file)), { recursive: true });
      await cp(repoPath(file), join(checkout, file));
    }
    const bin = join(scratch, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'gcloud'), STUB);
    await chmod(join(bin, 'gcloud'), 0o755);
    const log = join(scratch, 'calls.jsonl');
    await writeFile(log, '');
    const env = {
      ...process.env,
      ...extraEnv,
      PATH: [bin, dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter),
      STUB_GCLOUD_LOG: log,
    };
    const result = await run('bash', [join(checkout, script), ...args], { cwd: scratch, env, timeoutMs: 30_000 });
    const calls = (await readFile(log, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as GcloudCall);
    // What the checkout's root holds afterwards: a script must clean up what it staged there.
    const leftovers = (await readdir(checkout)).filter((entry) => !files.some((file) => file.split('/')[0] === entry));
    return { result, calls, checkout: await realpath(checkout), leftovers };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
