import { loadWebConfig, loadWorkerConfig } from '@flotilla/config';
import { describe, expect, it } from 'vitest';
import { schemaProblems } from './support/k8s-schema.js';
import { PLATFORM_LIMITS } from './support/platform-limits.js';
import { parseYaml, readRepoText } from './support/paths.js';
import { procfileCommands } from './support/procfile.js';
import { runWithStubGcloud } from './support/stub-gcloud.js';
import type { ContainerSpec } from './support/workloads.js';

// Cloud Run: infra/cloudrun/{web,worker}.yaml, Knative Service descriptors for
// `gcloud run services replace`, validated against the Knative serving schema and Cloud Run's own
// rules, with the configuration loaded as Cloud Run starts an instance; deploy.sh against a stub
// gcloud.

interface CloudRunService {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    template: {
      metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: { containerConcurrency?: number; timeoutSeconds?: number; containers: ContainerSpec[] };
    };
  };
}

/** Annotations Cloud Run reads (a misspelt one is silently ignored, hence the list). */
const SERVICE_ANNOTATIONS = new Set([
  'run.googleapis.com/ingress',
  'run.googleapis.com/launch-stage',
  'run.googleapis.com/binary-authorization',
  'run.googleapis.com/description',
  'run.googleapis.com/minScale',
  'run.googleapis.com/invoker-iam-disabled',
  'run.googleapis.com/default-url-disabled',
]);
const REVISION_ANNOTATIONS = new Set([
  'autoscaling.knative.dev/minScale',
  'autoscaling.knative.dev/maxScale',
  'run.googleapis.com/cpu-throttling',
  'run.googleapis.com/startup-cpu-boost',
  'run.googleapis.com/execution-environment',
  'run.googleapis.com/network-interfaces',
  'run.googleapis.com/vpc-access-connector',
  'run.googleapis.com/vpc-access-egress',
  'run.googleapis.com/cloudsql-instances',
  'run.googleapis.com/sessionAffinity',
  'run.googleapis.com/container-dependencies',
  'run.googleapis.com/encryption-key',
]);

/**
 * Problems of labels under Google Cloud's label rules (docs: "Labels overview", requirements):
 * at most 64; keys 1–63 characters of lowercase letters, digits, `_` and `-`, starting with a
 * letter; values up to 63 of the same (or empty). Cloud Run refuses a service that breaks them.
 */
function googleLabelProblems(labels: Record<string, string> | undefined): string[] {
  const entries = Object.entries(labels ?? {});
  const problems = entries.length > 64 ? [`${entries.length} labels, at most 64 allowed`] : [];
  for (const [key, value] of entries) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(key)) problems.push(`label key ${JSON.stringify(key)}`);
    if (!/^[a-z0-9_-]{0,63}$/.test(value)) problems.push(`label value ${JSON.stringify(value)} of ${key}`);
  }
  return problems;
}

async function descriptor(service: 'web' | 'worker'): Promise<CloudRunService> {
  return parseYaml(
    await readRepoText('infra', 'cloudrun', `${service}.yaml`),
    `infra/cloudrun/${service}.yaml`,
  ) as CloudRunService;
}

function container(service: CloudRunService): ContainerSpec {
  const [only, ...others] = service.spec.template.spec.containers;
  if (!only || others.length > 0) throw new Error(`${service.metadata.name}: one container`);
  return only;
}

/** The environment Cloud Run starts the container with: its env, secrets as placeholders, PORT and K_SERVICE. */
function instanceEnv(service: CloudRunService): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container(service).env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.secretKeyRef) env[variable.name] = 'redis://10.0.0.3:6379';
  }
  return { ...env, PORT: String(container(service).ports?.[0]?.containerPort), K_SERVICE: service.metadata.name };
}

describe.each(['web', 'worker'] as const)('Cloud Run %s', (name) => {
  it('validates against the Knative serving schema, unknown fields included', async () => {
    expect(schemaProblems(await descriptor(name))).toEqual([]);
  });

  it('carries only labels Google Cloud accepts, on the service and its revisions', async () => {
    const service = await descriptor(name);
    expect(googleLabelProblems(service.metadata.labels)).toEqual([]);
    expect(googleLabelProblems(service.spec.template.metadata.labels)).toEqual([]);
    expect(googleLabelProblems({ 'app.kubernetes.io/name': 'x', Upper: 'x', ok: 'Has Space' })).toEqual([
      'label key "app.kubernetes.io/name"',
      'label key "Upper"',
      'label value "Has Space" of ok',
    ]);
  });

  it('uses only annotations Cloud Run knows, with valid values', async () => {
    const service = await descriptor(name);
    for (const key of Object.keys(service.metadata.annotations ?? {})) expect(SERVICE_ANNOTATIONS, key).toContain(key);
    const revision = service.spec.template.metadata.annotations ?? {};
    for (const key of Object.keys(revision)) expect(REVISION_ANNOTATIONS, key).toContain(key);
    const min = Number(revision['autoscaling.knative.dev/minScale']);
    const max = Number(revision['autoscaling.knative.dev/maxScale']);
    expect(Number.isInteger(min) && Number.isInteger(max) && min >= 1 && max >= min).toBe(true);
    const interfaces = JSON.parse(revision['run.googleapis.com/network-interfaces'] ?? '[]') as unknown[];
    expect(interfaces.length, 'Direct VPC egress to Memorystore').toBe(1);
  });

  it('runs the Procfile command on one port, with probes on /healthz and no variable Cloud Run reserves', async () => {
    const service = await descriptor(name);
    const main = container(service);
    expect(main.command, 'command would replace the image entrypoint (tini)').toBeUndefined();
    expect(main.args).toEqual((await procfileCommands())[name]);
    expect(main.image).toBe('IMAGE');
    expect(main.ports).toHaveLength(1);
    expect(main.ports?.[0]?.name).toMatch(/^(http1|h2c)$/);
    for (const probe of [main.startupProbe, main.livenessProbe]) {
      expect(probe?.httpGet?.path).toBe('/healthz');
      expect(probe?.httpGet?.port).toBe(main.ports?.[0]?.containerPort);
    }
    const names = (main.env ?? []).map((e) => e.name);
    for (const reserved of PLATFORM_LIMITS.cloudRun.reservedEnv) expect(names).not.toContain(reserved);
  });

  it('starts with a configuration the schema accepts, listening on $PORT, shutting down inside the 10 s Cloud Run allows', async () => {
    const service = await descriptor(name);
    const config = name === 'web' ? loadWebConfig(instanceEnv(service)) : loadWorkerConfig(instanceEnv(service));
    expect(config.platform).toBe('cloud-run');
    expect(config.port).toBe(container(service).ports?.[0]?.containerPort);
    expect((config.shutdown.timeoutMs + config.shutdown.drainDelayMs) / 1000 + 1).toBeLessThanOrEqual(
      PLATFORM_LIMITS.cloudRun.shutdownGraceSeconds,
    );
  });
});

describe('Cloud Run services together', () => {
  it('let event streams and long polls run (web) and keep the worker consuming (CPU always allocated, never below one instance, internal only)', async () => {
    const web = await descriptor('web');
    const config = loadWebConfig(instanceEnv(web));
    const timeout = web.spec.template.spec.timeoutSeconds ?? 300;
    expect(timeout).toBeLessThanOrEqual(PLATFORM_LIMITS.cloudRun.maxRequestTimeoutSeconds);
    expect(timeout).toBeGreaterThan(config.http.maxWaitMs / 1000);
    const worker = await descriptor('worker');
    const annotations = worker.spec.template.metadata.annotations ?? {};
    expect(annotations['run.googleapis.com/cpu-throttling']).toBe('false');
    expect(Number(annotations['autoscaling.knative.dev/minScale'])).toBeGreaterThanOrEqual(1);
    expect(worker.metadata.annotations?.['run.googleapis.com/ingress']).toBe('internal');
  });

  it('share Redis and key prefixes', async () => {
    const web = loadWebConfig(instanceEnv(await descriptor('web')));
    const worker = loadWorkerConfig(instanceEnv(await descriptor('worker')));
    expect(worker.redis).toEqual(web.redis);
    expect(worker.queue).toEqual(web.queue);
    expect(container(await descriptor('worker')).env).toEqual(container(await descriptor('web')).env);
  });
});

describe('infra/cloudrun/deploy.sh', () => {
  const files = [
    'infra/cloudrun/deploy.sh',
    'infra/gcloud-project.sh',
    'infra/cloudrun/web.yaml',
    'infra/cloudrun/worker.yaml',
  ];
  const image = 'europe-docker.pkg.dev/demo-project/flotilla/flotilla:sha-0123';

  it('replaces both services with the image and project filled in, passing the other flags on', async () => {
    const { result, calls } = await runWithStubGcloud(files, 'infra/cloudrun/deploy.sh', [
      image,
      '--region',
      'europe-west1',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(calls.map((c) => c.args.slice(0, 3))).toEqual([
      ['config', 'get-value', 'project'],
      ['run', 'services', 'replace'],
      ['run', 'services', 'replace'],
    ]);
    const replaced = calls.slice(1).map((call) => {
      expect(call.args.slice(4)).toEqual(['--region', 'europe-west1']);
      const text = call.files[call.args[3] ?? ''] ?? '';
      return parseYaml(text, 'replaced') as CloudRunService;
    });
    expect(replaced.map((s) => s.metadata.name)).toEqual(['flotilla-web', 'flotilla-worker']);
    for (const service of replaced) {
      expect(container(service).image).toBe(image);
      expect(JSON.stringify(service)).not.toContain('PROJECT_ID');
      expect(JSON.stringify(service)).toContain('flotilla@demo-project.iam.gserviceaccount.com');
      expect(schemaProblems(service)).toEqual([]);
    }
  });

  it('takes the project from --project, deploys one service when asked, and needs an image', async () => {
    const one = await runWithStubGcloud(files, 'infra/cloudrun/deploy.sh', [image, 'worker', '--project', 'other']);
    expect(one.calls.map((c) => c.args.slice(0, 3).join(' '))).toEqual(['run services replace']);
    expect(Object.values(one.calls[0]?.files ?? {})[0]).toContain('flotilla@other.iam.gserviceaccount.com');
    const none = await runWithStubGcloud(files, 'infra/cloudrun/deploy.sh', []);
    expect(none.result.code).toBe(2);
  });
});
