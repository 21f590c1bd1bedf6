import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesHistogram } from '../src/series-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVED: readonly (readonly [string, number])[] = [
  ['/a', 0.0004],
  ['/a', 0.001],
  ['/a', 0.05],
  ['/b', 3],
  ['/a', 0.0100001],
  ['/b', 0.1],
];

function pair(): { series: Registry; plain: Registry; seriesHistogram: SeriesHistogram<'route'> } {
  const series = new Registry();
  const plain = new Registry();
  const seriesHistogram = new SeriesHistogram({
    name: 'took_seconds',
    help: 'How long',
    labelNames: ['route'],
    buckets: BUCKETS,
    registers: [series],
  });
  const plainHistogram = new Histogram({
    name: 'took_seconds',
    help: 'How long',
    labelNames: ['route'],
    buckets: BUCKETS,
    registers: [plain],
  });
  const routes = new Map([
    ['/a', seriesHistogram.series({ route: '/a' })],
    ['/b', seriesHistogram.series({ route: '/b' })],
  ]);
  for (const [route, value] of OBSERVED) {
    routes.get(route)?.observe(value);
    plainHistogram.observe({ route }, value);
  }
  return { series, plain, seriesHistogram };
}

function omitExemplar<V extends object>(value: V): Omit<V, 'exemplar'> {
  const { exemplar: _, ...rest } = value as V & { exemplar?: unknown };
  return rest;
}

describe('SeriesHistogram', () => {
  it('exposes what a prom-client histogram given the same observations exposes', async () => {
    const { series, plain } = pair();
    expect(await series.metrics()).toBe(await plain.metrics());
    // prom-client adds an empty exemplar to each value, which the text format never shows.
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((metric) => ({ ...metric, values: metric.values.map((value) => omitExemplar(value)) }));
    expect(withoutExemplars(await series.getMetricsAsJSON())).toEqual(withoutExemplars(await plain.getMetricsAsJSON()));
  });

  it('sums across cluster workers as a prom-client histogram does', async () => {
    const first = pair();
    const second = pair();
    const plainSum = AggregatorRegistry.aggregate([
      await first.plain.getMetricsAsJSON(),
      await second.plain.getMetricsAsJSON(),
    ]);
    const seriesSum = AggregatorRegistry.aggregate([
      await first.series.getMetricsAsJSON(),
      await second.series.getMetricsAsJSON(),
    ]);
    expect(await seriesSum.metrics()).toBe(await plainSum.metrics());
    expect(await seriesSum.metrics()).toContain('took_seconds_count{route="/a"} 8');
  });

  it('reports zero after a reset and keeps counting in the series it handed out', async () => {
    const { series, seriesHistogram } = pair();
    series.resetMetrics();
    expect(await series.metrics()).toContain('took_seconds_count{route="/a"} 0');
    seriesHistogram.series({ route: '/c' }).observe(0.5);
    const text = await series.metrics();
    expect(text).toContain('took_seconds_bucket{le="0.1",route="/c"} 0');
    expect(text).toContain('took_seconds_bucket{le="1",route="/c"} 1');
    expect(text).toContain('took_seconds_sum{route="/c"} 0.5');
  });
});
