import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  allPanels,
  dashboardQueries,
  provisionedDataSource,
  readDashboard,
  withoutGrafanaVariables,
} from './support/dashboard.js';
import { readInfraYaml } from './support/paths.js';
import { requireTool, run } from './support/prometheus-tools.js';

describe('the Grafana dashboard', () => {
  it('is valid JSON with a fixed uid, so links to it survive re-provisioning', async () => {
    const dashboard = await readDashboard();
    expect(dashboard.uid).toBe('flotilla');
    expect(dashboard.title).toBe('Flotilla');
    expect(dashboard.schemaVersion).toBeGreaterThan(30);
  });

  it('queries only the provisioned Prometheus data source, by uid', async () => {
    const source = await provisionedDataSource();
    expect(source).toMatchObject({ uid: 'flotilla-prometheus', type: 'prometheus' });
    const dashboard = await readDashboard();
    const queryPanels = allPanels(dashboard).filter((panel) => panel.type !== 'row');
    expect(queryPanels.length).toBeGreaterThan(10);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: source.uid });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource, `${panel.title} ${target.refId}`).toEqual({ type: 'prometheus', uid: source.uid });
        expect(target.expr, `${panel.title} ${target.refId}`).toBeTruthy();
      }
    }
  });

  it('has the panels to watch during a scale-out', async () => {
    const titles = allPanels(await readDashboard()).map((panel) => panel.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Request rate by route and status',
        'Latency p50 / p95 / p99',
        '5xx ratio',
        'Queue depth by state',
        'Oldest waiting job',
        'Job throughput by status',
        'Job duration p95',
        'Job wait p95',
        'Cache hit ratio by cache',
        'Workers connected per queue',
        'Web processes up',
        'Worker processes up',
        'Processes up',
        'Event loop lag p99 by instance',
        'Resident memory by instance',
      ]),
    );
  });

  it('lays panels out on the 24-column grid with unique ids', async () => {
    const panels = allPanels(await readDashboard());
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    for (const { title, gridPos } of panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      expect(gridPos.h, title).toBeGreaterThan(0);
    }
  });

  it('has only expressions Prometheus parses (promtool check rules)', async (ctx) => {
    const promtool = requireTool(ctx, 'promtool');
    const queries = dashboardQueries(await readDashboard());
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: queries.map(({ expr }, i) => ({
            record: `dashboard:query_${i}`,
            expr: withoutGrafanaVariables(expr),
          })),
        },
      ],
    };
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-dashboard-'));
    try {
      const file = join(dir, 'dashboard-rules.yml');
      await writeFile(file, stringify(rules));
      const result = await run(promtool, ['check', 'rules', file]);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is provisioned from a file provider', async () => {
    const file = (await readInfraYaml('grafana', 'provisioning', 'dashboards', 'flotilla.yml')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(file.apiVersion).toBe(1);
    expect(file.providers).toHaveLength(1);
    expect(file.providers[0]?.type).toBe('file');
    // compose.test.ts checks that this path is where the dashboards folder is mounted.
  });
});
