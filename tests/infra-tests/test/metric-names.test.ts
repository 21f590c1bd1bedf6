import { describe, expect, it } from 'vitest';
import { dashboardQueries, readDashboard } from './support/dashboard.js';
import { knownSeriesNames, metricNamesIn, unaggregatedQueueGauges } from './support/metric-names.js';
import { readInfraYaml } from './support/paths.js';

interface RuleFile {
  groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[];
}

describe('metricNamesIn', () => {
  it('finds the selected metrics, not functions, labels, keywords, durations or Grafana variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="a", route!~"/x{1}"}[$__rate_interval])))',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(metricNamesIn('count(up{job="w"} == 1) or vector(0)')).toEqual(['up']);
    expect(
      metricNamesIn('a:b:rate5m / on (queue) group_left max by (queue) (c) > 1e3 and d offset 5m unless bool_metric'),
    ).toEqual(['a:b:rate5m', 'bool_metric', 'c', 'd']);
    expect(metricNamesIn('deriv(queue:backlog:max[10m:1m]) * 60 > 0')).toEqual(['queue:backlog:max']);
  });

  it('flags queue-wide gauges that are not under max by', () => {
    expect(unaggregatedQueueGauges('max by (queue, state) (flotilla_queue_jobs{state="waiting"})')).toEqual([]);
    expect(unaggregatedQueueGauges('sum by (queue) (flotilla_queue_jobs)')).toEqual(['flotilla_queue_jobs']);
    expect(unaggregatedQueueGauges('flotilla_queue_workers == 0')).toEqual(['flotilla_queue_workers']);
    expect(unaggregatedQueueGauges('queue:flotilla_queue_workers:max == 0')).toEqual([]);
  });
});

describe('metric names used in infra/', () => {
  it('the dashboard uses only metrics the services export, and max for queue-wide gauges', async () => {
    const known = knownSeriesNames();
    for (const { panel, expr } of dashboardQueries(await readDashboard())) {
      const unknown = metricNamesIn(expr).filter((name) => !known.has(name));
      expect(unknown, `${panel}: ${expr}`).toEqual([]);
      expect(unaggregatedQueueGauges(expr), `${panel}: ${expr}`).toEqual([]);
    }
  });

  it('the rules use only exported metrics and their own recorded series, and max for queue-wide gauges', async () => {
    const rules = (await readInfraYaml('prometheus', 'alerts.yml')) as RuleFile;
    const all = rules.groups.flatMap((group) => group.rules);
    const known = knownSeriesNames();
    for (const rule of all) if (rule.record) known.add(rule.record);
    for (const rule of all) {
      const name = rule.record ?? rule.alert ?? '?';
      expect(
        metricNamesIn(rule.expr).filter((metric) => !known.has(metric)),
        `${name}: ${rule.expr}`,
      ).toEqual([]);
      expect(unaggregatedQueueGauges(rule.expr), `${name}: ${rule.expr}`).toEqual([]);
    }
  });
});
