/**
 * The metric names Flotilla's services export (see docs/observability.md),
 * and a reader of the metric names a PromQL expression uses. Dashboards and rules may only use
 * these: a typo or a renamed metric would otherwise show up as an empty panel or an alert that
 * can never fire.
 */

/** Histograms: each is scraped as `<name>_bucket`, `<name>_sum` and `<name>_count`. */
export const HISTOGRAMS = [
  'http_request_duration_seconds',
  'flotilla_job_duration_seconds',
  'flotilla_job_wait_seconds',
  'nodejs_gc_duration_seconds',
] as const;

/** Flotilla's own counters and gauges. */
export const FLOTILLA_SERIES = [
  'flotilla_jobs_total',
  'flotilla_queue_jobs',
  'flotilla_queue_oldest_waiting_seconds',
  'flotilla_queue_workers',
  'flotilla_cache_requests_total',
  'flotilla_cache_invalidations_total',
  'flotilla_redis_up',
  'flotilla_redis_epoch_intact',
  'flotilla_redis_connections',
] as const;

/** prom-client's default metrics (collectDefaultMetrics), minus the histogram above. */
export const NODE_DEFAULT_SERIES = [
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_open_fds',
  'process_max_fds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_heap_space_size_total_bytes',
  'nodejs_heap_space_size_used_bytes',
  'nodejs_heap_space_size_available_bytes',
  'nodejs_version_info',
] as const;

/** Gauges every worker exports with the same queue-wide value: aggregate them with max. */
export const QUEUE_WIDE_GAUGES = [
  'flotilla_queue_jobs',
  'flotilla_queue_oldest_waiting_seconds',
  'flotilla_queue_workers',
] as const;

/** The series names of a histogram. */
export function histogramSeries(name: string): string[] {
  return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
}

/** Every series name a scrape of web or worker can yield, plus Prometheus's own `up`. */
export function knownSeriesNames(): Set<string> {
  return new Set<string>(['up', ...FLOTILLA_SERIES, ...NODE_DEFAULT_SERIES, ...HISTOGRAMS.flatMap(histogramSeries)]);
}

// Words of PromQL that look like names but are not metrics.
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names an expression selects, e.g. `sum by (le) (rate(x_bucket{a="b"}[5m]))` →
 * `['x_bucket']`. Grafana variables (`$__rate_interval`) are allowed anywhere a duration is.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    // String literals first: label values may contain anything, braces included.
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ');
  const names = new Set<string>();
  // A name not glued to a number (1e3, 5m) and not called like a function.
  for (const match of stripped.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    const name = match[1];
    if (name && !KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names].sort();
}

/**
 * Places in `expr` where a queue-wide gauge is used other than directly under `max by (…)`:
 * a sum or an un-aggregated use would count the same queue once per worker.
 */
export function unaggregatedQueueGauges(expr: string): string[] {
  const problems: string[] = [];
  for (const gauge of QUEUE_WIDE_GAUGES) {
    // Bounded by anything but a name character (`:` included, so recorded names do not count).
    const uses = [...expr.matchAll(new RegExp(`(?<![\\w:])${gauge}(?![\\w:])`, 'g'))].length;
    const underMax = [...expr.matchAll(new RegExp(`\\bmax\\s+by\\s*\\([^)]*\\)\\s*\\(\\s*${gauge}(?![\\w:])`, 'g'))]
      .length;
    if (uses > underMax) problems.push(gauge);
  }
  return problems;
}
