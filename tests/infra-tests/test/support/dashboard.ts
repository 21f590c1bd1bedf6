import { readInfraJson, readInfraYaml } from './paths.js';

/** A Grafana data source reference. */
export interface DataSourceRef {
  type?: string;
  uid?: string;
}

/** One query of a panel. */
export interface PanelTarget {
  refId: string;
  expr?: string;
  datasource?: DataSourceRef;
}

/** A dashboard panel (rows hold their collapsed panels in `panels`). */
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: DataSourceRef;
  targets?: PanelTarget[];
  panels?: Panel[];
}

/** The provisioned dashboard, as far as the tests look into it. */
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating?: { list: unknown[] };
}

/** infra/grafana/dashboards/flotilla.json */
export async function readDashboard(): Promise<Dashboard> {
  return (await readInfraJson('grafana', 'dashboards', 'flotilla.json')) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every PromQL expression of the dashboard with the title of its panel. */
export function dashboardQueries(dashboard: Dashboard): { panel: string; expr: string }[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).flatMap((target) => (target.expr ? [{ panel: panel.title, expr: target.expr }] : [])),
  );
}

/** An expression with Grafana's interval variables replaced, so Prometheus can run it. */
export function withoutGrafanaVariables(expr: string, interval = '1m'): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, interval);
}

/** The uid of the data source provisioned in infra/grafana/provisioning/datasources. */
export async function provisionedDataSource(): Promise<{ uid: string; type: string; url: string }> {
  const file = (await readInfraYaml('grafana', 'provisioning', 'datasources', 'prometheus.yml')) as {
    datasources: { uid: string; type: string; url: string }[];
  };
  const [source, ...others] = file.datasources;
  if (!source || others.length > 0) throw new Error('expected exactly one provisioned data source');
  return source;
}
