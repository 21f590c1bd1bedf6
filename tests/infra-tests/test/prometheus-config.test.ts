import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { infraPath, readInfraYaml, readInfraYamlDocuments } from './support/paths.js';
import {
  readPrometheusConfig,
  scrapeJob,
  withKubernetesDiscoveryFromFile,
  writeConfig,
} from './support/prometheus-config.js';
import { requireTool, run } from './support/prometheus-tools.js';

// The job names the alert rules and the dashboard select on.
const JOBS = ['flotilla-web', 'flotilla-worker'];

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'flotilla-infra-'));
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the static Prometheus configurations', () => {
  it.for(['prometheus.yml', 'prometheus-compose.yml'])(
    '%s passes promtool check config, rules included',
    async (file, ctx) => {
      const promtool = requireTool(ctx, 'promtool');
      const result = await run(promtool, ['check', 'config', infraPath('prometheus', file)]);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain('SUCCESS: 1 rule files found');
    },
  );

  it('point the jobs the rules use at web on :3000 and worker on :3001', async () => {
    const local = await readPrometheusConfig('prometheus.yml');
    expect(scrapeJob(local, 'flotilla-web').static_configs).toEqual([{ targets: ['127.0.0.1:3000'] }]);
    expect(scrapeJob(local, 'flotilla-worker').static_configs).toEqual([{ targets: ['127.0.0.1:3001'] }]);
    const compose = await readPrometheusConfig('prometheus-compose.yml');
    expect(scrapeJob(compose, 'flotilla-web').static_configs).toEqual([{ targets: ['host.docker.internal:3000'] }]);
    expect(scrapeJob(compose, 'flotilla-worker').static_configs).toEqual([{ targets: ['host.docker.internal:3001'] }]);
    for (const config of [local, compose]) {
      expect(config.rule_files).toEqual(['alerts.yml']);
      for (const job of JOBS) expect(scrapeJob(config, job).metrics_path).toBe('/metrics');
    }
  });
});

describe('kubernetes.yml', () => {
  it('passes promtool check config (with file discovery in place of Kubernetes where promtool lacks it)', async (ctx) => {
    const promtool = requireTool(ctx, 'promtool');
    const original = await run(promtool, ['check', 'config', infraPath('prometheus', 'kubernetes.yml')]);
    if (original.code !== 0) {
      // Debian's build leaves Kubernetes discovery out; anything else is a real error.
      expect(original.output).toMatch(/field kubernetes_sd_configs not found/);
    }
    const targets = join(scratch, 'kubernetes-targets.yml');
    await writeFile(targets, stringify([]));
    const config = withKubernetesDiscoveryFromFile(await readPrometheusConfig('kubernetes.yml'), targets);
    const result = await run(promtool, ['check', 'config', await writeConfig(scratch, 'kubernetes.yml', config)]);
    expect(result.code, result.output).toBe(0);
  });

  it('discovers pods and names the jobs after their app.kubernetes.io/name label', async () => {
    const config = await readPrometheusConfig('kubernetes.yml');
    expect(config.scrape_configs).toHaveLength(1);
    const [job] = config.scrape_configs;
    expect(job?.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    expect(job?.['relabel_configs']).toContainEqual({
      source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'],
      target_label: 'job',
    });
    // The relabelling itself runs against a real Prometheus in scrape.test.ts.
  });
});

interface MonitorEndpoint {
  port?: string;
  path?: string;
  interval?: string;
}
interface Monitor {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    jobLabel?: string;
    selector: { matchLabels: Record<string, string> };
    endpoints?: MonitorEndpoint[];
    podMetricsEndpoints?: MonitorEndpoint[];
  };
}

describe('servicemonitor.yaml', () => {
  it('monitors the web through its Service and the worker through its pods, job named after the app label', async () => {
    const monitors = (await readInfraYamlDocuments('prometheus', 'servicemonitor.yaml')) as Monitor[];
    expect(monitors.map((m) => [m.apiVersion, m.kind, m.metadata.name])).toEqual([
      ['monitoring.coreos.com/v1', 'ServiceMonitor', 'flotilla-web'],
      ['monitoring.coreos.com/v1', 'PodMonitor', 'flotilla-worker'],
    ]);
    for (const monitor of monitors) {
      // The operator sets job from this label of the Service / pod: flotilla-web, flotilla-worker.
      expect(monitor.spec.jobLabel).toBe('app.kubernetes.io/name');
      expect(monitor.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': monitor.metadata.name });
      const endpoints = monitor.spec.endpoints ?? monitor.spec.podMetricsEndpoints ?? [];
      expect(endpoints).toHaveLength(1);
      expect(endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
    }
  });
});

// --- alerts.yml ---

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] | null }[] }[];
}

describe('alerts.yml', () => {
  it('passes promtool check rules', async (ctx) => {
    const promtool = requireTool(ctx, 'promtool');
    const result = await run(promtool, ['check', 'rules', infraPath('prometheus', 'alerts.yml')]);
    expect(result.code, result.output).toBe(0);
  });

  it('passes its unit tests (promtool test rules alerts.test.yml)', async (ctx) => {
    const promtool = requireTool(ctx, 'promtool');
    const result = await run(promtool, ['test', 'rules', infraPath('prometheus', 'alerts.test.yml')]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });

  it('gives every alert a duration, a severity, a summary, a description and a runbook hint', async () => {
    const rules = (await readInfraYaml('prometheus', 'alerts.yml')) as RuleFile;
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const alert of alerts) {
      expect(alert.for, alert.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning'], alert.alert).toContain(alert.labels?.['severity']);
      expect(Object.keys(alert.annotations ?? {}).sort(), alert.alert).toEqual(['description', 'runbook', 'summary']);
    }
  });

  it('has, for every alert, a unit test that fires it and one that does not', async () => {
    const rules = (await readInfraYaml('prometheus', 'alerts.yml')) as RuleFile;
    const tests = (await readInfraYaml('prometheus', 'alerts.test.yml')) as RuleTestFile;
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of rules.groups.flatMap((g) => g.rules).flatMap((r) => r.alert ?? [])) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${name} fires in some test`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name} stays quiet in some test`,
      ).toBe(true);
    }
  });
});
