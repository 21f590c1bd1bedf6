import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadWebConfig, loadWorkerConfig } from '../src/index.js';
import { PLATFORM_MARKERS, PLATFORM_RELEASE_VARIABLES } from '../src/platform.js';
import { REGENERATE_COMMAND, renderConfigurationDoc } from '../src/render-configuration-doc.js';
import { SETTINGS } from '../src/settings.js';

const platformVariables = [...PLATFORM_MARKERS.map(([variable]) => variable), ...PLATFORM_RELEASE_VARIABLES];

// An environment that notes every variable a loader looks up.
function watchedEnv(env: Record<string, string>): { env: Record<string, string>; read: Set<string> } {
  const read = new Set<string>();
  const watched = new Proxy(env, {
    get(target, key, receiver) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { env: watched, read };
}

describe('the settings table', () => {
  it.each([
    ['web', loadWebConfig],
    ['worker', loadWorkerConfig],
  ] as const)('declares every variable the %s loader reads, and the loader reads all of its own', (service, load) => {
    const { env, read } = watchedEnv({ REDIS_URL: 'redis://127.0.0.1:6390' });
    load(env);
    const declared = Object.keys(SETTINGS);
    expect(
      [...read].filter((variable) => !declared.includes(variable) && !platformVariables.includes(variable)),
    ).toEqual([]);
    const own = Object.entries(SETTINGS)
      .filter(([, setting]) => setting.services === 'both' || setting.services === service)
      .map(([variable]) => variable);
    expect([...read].filter((variable) => declared.includes(variable)).sort()).toEqual(own.sort());
  });

  it('gives every setting a one-line doc and either a default, a derived default or neither, not both', () => {
    for (const [variable, setting] of Object.entries(SETTINGS)) {
      expect(setting.doc, variable).toMatch(/^[^\n]+$/);
      expect('default' in setting && 'derived' in setting, variable).toBe(false);
    }
  });
});

describe('docs/configuration.md', () => {
  it(`is what the settings table generates (regenerate it with ${REGENERATE_COMMAND})`, async () => {
    const committed = await readFile(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(committed, `docs/configuration.md is out of date: run ${REGENERATE_COMMAND}`).toBe(renderConfigurationDoc());
  });

  it('names every variable in full', () => {
    const page = renderConfigurationDoc();
    for (const variable of Object.keys(SETTINGS)) expect(page).toContain(`| \`${variable}\` |`);
    expect(page).toContain('`JOB_RETENTION_FAILED_SECONDS`');
  });
});
