import { readTracingSettings } from '@flotilla/telemetry';
import { describe, expect, it } from 'vitest';
import { readRepoJson, readRepoYaml } from './support/paths.js';

// Every deploy descriptor samples 1 % of new traces: with the SDK's default
// (parentbased_always_on) a process that is given an OTLP endpoint records every trace, which
// bench:instructions counted at 2.0–2.4 times the CPU of a process with telemetry off.

const SAMPLING = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' } as const;

type Env = Record<string, string>;

interface CloudRunService {
  spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
}

async function cloudRunEnv(file: string): Promise<Env> {
  const service = (await readRepoYaml('infra', 'cloudrun', file)) as CloudRunService;
  const env = service.spec.template.spec.containers[0]?.env ?? [];
  return Object.fromEntries(env.flatMap(({ name, value }) => (value === undefined ? [] : [[name, value]])));
}

/** The environment each descriptor gives the processes it starts, by descriptor. */
const DESCRIPTORS: Record<string, () => Promise<Env>> = {
  'k8s/base/configmap.yaml': async () => ((await readRepoYaml('k8s', 'base', 'configmap.yaml')) as { data: Env }).data,
  'app.yaml': async () => ((await readRepoYaml('app.yaml')) as { env_variables: Env }).env_variables,
  'infra/appengine/worker.yaml': async () =>
    ((await readRepoYaml('infra', 'appengine', 'worker.yaml')) as { env_variables: Env }).env_variables,
  'infra/cloudrun/web.yaml': async () => await cloudRunEnv('web.yaml'),
  'infra/cloudrun/worker.yaml': async () => await cloudRunEnv('worker.yaml'),
  'infra/elasticbeanstalk/ebextensions/common.config': async () =>
    (
      (await readRepoYaml('infra', 'elasticbeanstalk', 'ebextensions', 'common.config')) as {
        option_settings: Record<string, Env>;
      }
    ).option_settings['aws:elasticbeanstalk:application:environment'] ?? {},
  'app.json': async () => {
    const app = (await readRepoJson('app.json')) as { env: Record<string, { value?: string }> };
    return Object.fromEntries(
      Object.entries(app.env).flatMap(([name, { value }]) => (value === undefined ? [] : [[name, value]])),
    );
  },
};

describe('trace sampling in the deploy descriptors', () => {
  for (const [descriptor, read] of Object.entries(DESCRIPTORS)) {
    it(`${descriptor} samples 1 % of new traces, the rest following their parent`, async () => {
      const env = await read();
      expect({
        OTEL_TRACES_SAMPLER: env['OTEL_TRACES_SAMPLER'],
        OTEL_TRACES_SAMPLER_ARG: env['OTEL_TRACES_SAMPLER_ARG'],
      }).toEqual(SAMPLING);
      // The values pass the same check the processes make at start-up once an endpoint is set.
      const settings = readTracingSettings(
        { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' },
        'flotilla-web',
      );
      expect(settings.enabled).toBe(true);
    });
  }

  it('leaves tracing off until an endpoint is set', async () => {
    for (const [descriptor, read] of Object.entries(DESCRIPTORS)) {
      expect(readTracingSettings(await read(), 'flotilla-web').enabled, descriptor).toBe(false);
    }
  });
});
