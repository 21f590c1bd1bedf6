import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { SeriesHistogram, type HistogramSeries } from './series-histogram.js';

// Buckets around what a web request takes: sub-millisecond cache hits up to slow long polls.
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Labels = 'method' | 'route' | 'status_code';

/**
 * `http_request_duration_seconds{method,route,status_code}`. The route is the template
 * (`/api/jobs/:id`, never the raw path, so the label has as many values as there are routes).
 */
export class HttpMetrics {
  private readonly duration: SeriesHistogram<Labels>;
  // Route, then method, then status: lookups of strings the caller already holds, no key to build.
  private readonly series = new Map<string, Map<string, Map<number, HistogramSeries>>>();

  constructor(registry: Registry) {
    this.duration = new SeriesHistogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to finishing its response, by route template',
      labelNames: ['method', 'route', 'status_code'],
      buckets: BUCKETS,
      registers: [registry],
    });
  }

  /**
   * Times a request a router answers; the observation is made when its response finishes,
   * once `routeOf` can tell which route template took it.
   */
  track(req: IncomingMessage, res: ServerResponse, startedAt: bigint, routeOf: () => string): void {
    res.once('finish', () => this.observe(req.method ?? 'UNKNOWN', routeOf(), res.statusCode, startedAt));
  }

  /** Records a request answered outside Express (a cached page), by the route that rendered it. */
  observe(method: string, route: string, status: number, startedAt: bigint): void {
    this.seriesOf(method, route, status).observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
  }

  private seriesOf(method: string, route: string, status: number): HistogramSeries {
    let byMethod = this.series.get(route);
    if (!byMethod) this.series.set(route, (byMethod = new Map<string, Map<number, HistogramSeries>>()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map<number, HistogramSeries>()));
    let series = byStatus.get(status);
    if (!series) byStatus.set(status, (series = this.duration.series({ method, route, status_code: status })));
    return series;
  }
}
