import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { K8sObject } from './kustomize.js';
import { parseYaml, parseYamlDocuments, readRepoText, repoPath } from './paths.js';

// k8s/components/prometheus-operator holds copies of what infra/prometheus defines (kustomize
// cannot load files outside a kustomization's folder): the monitors verbatim, and the rules
// file's groups as a PrometheusRule. These build the expected copies from the sources.

const COMPONENT = ['k8s', 'components', 'prometheus-operator'] as const;

/** Where the component's copies live. */
export const monitorsPath = repoPath(...COMPONENT, 'monitors.yaml');
export const prometheusRulePath = repoPath(...COMPONENT, 'prometheusrule.yaml');

/** The ServiceMonitor and PodMonitor of infra/prometheus/servicemonitor.yaml, as text. */
async function monitorsSource(): Promise<string> {
  return await readRepoText('infra', 'prometheus', 'servicemonitor.yaml');
}

/** The PrometheusRule equivalent of infra/prometheus/alerts.yml. */
export async function expectedPrometheusRule(): Promise<K8sObject> {
  const rules = parseYaml(await readRepoText('infra', 'prometheus', 'alerts.yml'), 'infra/prometheus/alerts.yml') as {
    groups: unknown[];
  };
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'flotilla', labels: { 'app.kubernetes.io/name': 'flotilla' } },
    spec: { groups: rules.groups },
  };
}

/** The monitors the component must contain (parsed). */
export async function expectedMonitors(): Promise<K8sObject[]> {
  return parseYamlDocuments(await monitorsSource(), 'infra/prometheus/servicemonitor.yaml') as K8sObject[];
}

const GENERATED = (source: string): string =>
  `# Generated from ${source} by tests/deploy-tests (FLOTILLA_SYNC_K8S_MONITORING=1); edit the\n# source and regenerate, a test fails when the two differ.\n`;

/** Rewrites both copies from their sources. */
export async function syncMonitoringCopies(): Promise<void> {
  await writeFile(monitorsPath, GENERATED('infra/prometheus/servicemonitor.yaml') + (await monitorsSource()));
  await writeFile(
    prometheusRulePath,
    GENERATED('infra/prometheus/alerts.yml') + stringify(await expectedPrometheusRule(), { lineWidth: 0 }),
  );
}
