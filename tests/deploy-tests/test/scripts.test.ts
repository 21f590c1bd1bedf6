import { describe, expect, it } from 'vitest';
import { repoPath } from './support/paths.js';
import { requireTool, run } from './support/tools.js';

// The shell scripts a user or CI runs: bash must parse them, shellcheck must find nothing.

const SCRIPTS = [
  'infra/appengine/deploy.sh',
  'infra/cloudrun/deploy.sh',
  'infra/elasticbeanstalk/bundle.sh',
  'infra/gcloud-project.sh',
  'tests/deploy-tests/bin/base-image-stand-in.sh',
  'tests/deploy-tests/bin/docker-engine.sh',
  '.ci/without-example',
];

describe('shell scripts', () => {
  it.each(SCRIPTS)('%s parses', async (script) => {
    const result = await run('bash', ['-n', repoPath(script)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('pass shellcheck', async (ctx) => {
    const shellcheck = requireTool(ctx, {
      name: 'shellcheck',
      debianPackage: 'shellcheck',
      purpose: 'lints the shell scripts and workflow steps',
    });
    const result = await run(
      shellcheck,
      SCRIPTS.map((script) => repoPath(script)),
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
  });
});
