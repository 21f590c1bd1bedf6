import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { expectedMonitors, expectedPrometheusRule, monitorsPath, prometheusRulePath, syncMonitoringCopies } from './support/monitoring.js';
import { parseYamlDocuments } from './support/paths.js';

// k8s/components/prometheus-operator repeats what infra/prometheus defines, because kustomize
// cannot load files from outside a kustomization. These keep the copies equal to the sources;
// FLOTILLA_SYNC_K8S_MONITORING=1 rewrites the copies instead of failing.

const SYNC = process.env['FLOTILLA_SYNC_K8S_MONITORING'] === '1';
const HOW_TO_SYNC = 'regenerate with FLOTILLA_SYNC_K8S_MONITORING=1 pnpm exec vitest run packages/deploy-tests/test/kubernetes-monitoring.test.ts';

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
