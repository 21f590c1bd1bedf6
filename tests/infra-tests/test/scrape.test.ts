import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedServiceEnv, spawnWeb, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { dashboardQueries, readDashboard, withoutGrafanaVariables } from './support/dashboard.js';
import { HISTOGRAMS, metricNamesIn } from './support/metric-names.js';
import { readInfraYaml } from './support/paths.js';
import {
  readPrometheusConfig,
  scrapeJob,
  withKubernetesDiscoveryFromFile,
  writeConfig,
  type PrometheusConfig,
} from './support/prometheus-config.js';
import { instantQuery, prometheusApi, startPrometheus, type PrometheusServer } from './support/prometheus-server.js';
import { findTool, requireTool } from './support/prometheus-tools.js';

// The real web and worker, scraped by a real Prometheus running the shipped configuration and
// rules (targets and intervals swapped for the test's), with /metrics behind a bearer token.

const token = randomBytes(24).toString('hex');
const scrapeAuth = { type: 'Bearer', credentials: token };
let web: ServiceHandle | undefined;
let worker: ServiceHandle | undefined;
let scratch: string;
const servers: PrometheusServer[] = [];

// On a machine without Prometheus the tests skip; no point starting the services then.
const willRun = findTool('prometheus') !== undefined || process.env['CI'] === 'true';

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'flotilla-scrape-'));
  if (!willRun) return;
  const env = { ...isolatedServiceEnv(inject('redisUrl')), METRICS_BEARER_TOKEN: token };
  [web, worker] = await Promise.all([spawnWeb(env), spawnWorker(env)]);
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  const exits = await Promise.all([web?.stop(), worker?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  for (const exit of exits) if (exit) expect(exit).toEqual({ code: 0, signal: null });
});

function running(handle: ServiceHandle | undefined, name: string): ServiceHandle {
  if (!handle) throw new Error(`${name} was not started`);
  return handle;
}

/** The shipped config with its two jobs pointed at the test's processes, scraping every second. */
function scrapingTheTestServices(config: PrometheusConfig): PrometheusConfig {
  const ports: Record<string, number> = {
    'flotilla-web': running(web, 'web').port,
    'flotilla-worker': running(worker, 'worker').port,
  };
  expect(config.scrape_configs.map((job) => job.job_name)).toEqual(Object.keys(ports));
  return {
    ...config,
    global: { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' },
    scrape_configs: config.scrape_configs.map((job) => ({
      ...job,
      static_configs: [{ targets: [`127.0.0.1:${ports[job.job_name]}`] }],
      // The option the config shows in a comment for METRICS_BEARER_TOKEN.
      authorization: scrapeAuth,
    })),
  };
}

async function submitSleepJob(base: string): Promise<void> {
  const accepted = await fetch(`${base}/api/jobs/sleep`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ms: 10 }),
  });
  expect(accepted.status).toBe(202);
  const { id } = (await accepted.json()) as { id: string };
  const finished = await fetch(`${base}/api/jobs/${id}?wait=10`);
  expect(finished.status).toBe(200);
  expect(await finished.json()).toMatchObject({ id, state: 'completed' });
}

async function seriesOf(server: PrometheusServer, expr: string): Promise<Record<string, string>[]> {
  return (await instantQuery(server, expr)).map((sample) => sample.metric);
}

/** Metric names a /metrics page declares (`# TYPE` lines), histograms expanded to their series. */
async function declaredMetrics(url: string): Promise<string[]> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^(text\/plain|application\/openmetrics-text)/);
  const names: string[] = [];
  for (const [, name, type] of (await response.text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (!name) continue;
    names.push(...(type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name]));
  }
  return names;
}

interface RuleGroups {
  groups: { name: string; rules: { name: string; health: string; lastError?: string; type: string }[] }[];
}
interface ActiveAlerts {
  alerts: { labels: Record<string, string>; state: string }[];
}
interface Targets {
  activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
  droppedTargets: unknown[];
}

describe('a real Prometheus scraping the real web and worker', () => {
  it('with prometheus.yml and alerts.yml: sees jobs, requests and queues, and every rule evaluates', async (ctx) => {
    const binary = requireTool(ctx, 'prometheus');
    const webUrl = running(web, 'web').url;
    const workerUrl = running(worker, 'worker').url;

    // The token is what lets Prometheus in.
    for (const url of [webUrl, workerUrl]) expect((await fetch(`${url}/metrics`)).status).toBe(401);

    const dir = await mkdtemp(join(scratch, 'static-'));
    const config = scrapingTheTestServices(await readPrometheusConfig('prometheus.yml'));
    const prometheus = await startPrometheus(binary, await writeConfig(dir, 'prometheus.yml', config), dir);
    servers.push(prometheus);
    const why = (): string => `\n--- prometheus ---\n${prometheus.logs()}`;

    for (let i = 0; i < 3; i++) await submitSleepJob(webUrl);

    const wanted = [
      'up{job="flotilla-web"} == 1',
      'up{job="flotilla-worker"} == 1',
      'flotilla_jobs_total{status="completed"}',
      'http_request_duration_seconds_count',
      'flotilla_queue_jobs',
    ];
    for (const expr of wanted) {
      await waitFor(async () => (await instantQuery(prometheus, expr)).length > 0, {
        timeoutMs: 20_000,
        intervalMs: 250,
        description: `${expr} has series${why()}`,
      });
    }
    expect(await seriesOf(prometheus, 'flotilla_jobs_total{status="completed"}')).toContainEqual({
      __name__: 'flotilla_jobs_total',
      job: 'flotilla-worker',
      instance: `127.0.0.1:${running(worker, 'worker').port}`,
      service: 'worker',
      queue: 'default',
      shard: '0',
      type: 'sleep',
      status: 'completed',
    });
    expect(await seriesOf(prometheus, 'http_request_duration_seconds_count{method="POST"}')).toContainEqual(
      expect.objectContaining({ job: 'flotilla-web', service: 'web', route: '/api/jobs/:type', status_code: '202' }),
    );
    expect(await seriesOf(prometheus, 'flotilla_queue_jobs{queue="default"}')).toContainEqual(
      expect.objectContaining({ job: 'flotilla-worker', state: 'waiting' }),
    );

    // Every recording rule and alert evaluates against real series without an error (a
    // many-to-many match, say, only shows with real label sets).
    const rules = await waitFor(
      async () => {
        const { groups } = await prometheusApi<RuleGroups>(prometheus, '/api/v1/rules');
        const all = groups.flatMap((group) => group.rules);
        const pending = all.filter((rule) => rule.health === 'unknown').map((rule) => rule.name);
        if (all.length === 0 || pending.length > 0) throw new Error(`not evaluated yet: ${pending.join(', ')}`);
        return all;
      },
      { timeoutMs: 20_000, intervalMs: 250, description: `every rule evaluated${why()}` },
    );
    expect(rules.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.lastError ?? ''}`)).toEqual(
      [],
    );
    for (const recorded of [
      'queue_state:flotilla_queue_jobs:max',
      'queue:flotilla_queue_workers:max',
      'job:http_requests:rate5m',
    ]) {
      await waitFor(async () => (await instantQuery(prometheus, recorded)).length > 0, {
        timeoutMs: 20_000,
        intervalMs: 250,
        description: `${recorded} recorded${why()}`,
      });
    }

    // A healthy fleet: none of the "it is down" alerts stays active once both targets are up.
    const outage = ['FlotillaWebDown', 'FlotillaWorkersDown', 'FlotillaQueueHasNoWorker', 'FlotillaRedisUnreachable'];
    await waitFor(
      async () => {
        const { alerts } = await prometheusApi<ActiveAlerts>(prometheus, '/api/v1/alerts');
        const active = alerts.filter((alert) => outage.includes(alert.labels['alertname'] ?? ''));
        if (active.length > 0) throw new Error(`still active: ${JSON.stringify(active)}`);
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 250, description: 'no outage alert active' },
    );

    // Every dashboard query runs on the real data.
    for (const { panel, expr } of dashboardQueries(await readDashboard())) {
      await expect(instantQuery(prometheus, withoutGrafanaVariables(expr)), panel).resolves.toBeDefined();
    }
  }, 120_000);

  it('every metric the dashboard and the rules use is declared on /metrics by web or worker', async (ctx) => {
    requireTool(ctx, 'prometheus');
    const declared = new Set([
      ...(await declaredMetrics(running(web, 'web').url)),
      ...(await declaredMetrics(running(worker, 'worker').url)),
    ]);
    const rules = (await readInfraYaml('prometheus', 'alerts.yml')) as {
      groups: { rules: { record?: string; expr: string }[] }[];
    };
    const recorded = new Set(rules.groups.flatMap((group) => group.rules.flatMap((rule) => rule.record ?? [])));
    const expressions = [
      ...dashboardQueries(await readDashboard()).map((query) => query.expr),
      ...rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
    ];
    const used = new Set(expressions.flatMap(metricNamesIn).filter((name) => name !== 'up' && !recorded.has(name)));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !declared.has(name)).sort()).toEqual([]);
    // The histograms the dashboard reads are real histograms (with buckets).
    for (const histogram of HISTOGRAMS) expect(declared.has(`${histogram}_bucket`), histogram).toBe(true);
  }, 30_000);

  it("with kubernetes.yml's relabelling: annotated Flotilla pods become flotilla-web and flotilla-worker targets", async (ctx) => {
    const binary = requireTool(ctx, 'prometheus');
    const dir = await mkdtemp(join(scratch, 'kubernetes-'));
    const pod = (name: string, app: string, port: number | undefined, extra: Record<string, string> = {}): object => ({
      // A declared container port that is not the metrics port: the annotation must win.
      targets: ['127.0.0.1:9'],
      labels: {
        __meta_kubernetes_namespace: 'flotilla',
        __meta_kubernetes_pod_name: name,
        __meta_kubernetes_pod_phase: 'Running',
        __meta_kubernetes_pod_label_app_kubernetes_io_name: app,
        __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
        ...(port === undefined ? {} : { __meta_kubernetes_pod_annotation_prometheus_io_port: String(port) }),
        ...extra,
      },
    });
    const webPort = running(web, 'web').port;
    const workerPort = running(worker, 'worker').port;
    const targetsFile = join(dir, 'pods.yml');
    await writeFile(
      targetsFile,
      stringify([
        pod('flotilla-web-5d8f7-abcde', 'flotilla-web', webPort),
        pod('flotilla-worker-6c9d4-fghij', 'flotilla-worker', workerPort, {
          __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics',
        }),
        // Dropped: not asking to be scraped, not running, not Flotilla.
        pod('flotilla-web-5d8f7-klmno', 'flotilla-web', webPort, {
          __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'false',
        }),
        pod('flotilla-worker-6c9d4-pqrst', 'flotilla-worker', workerPort, { __meta_kubernetes_pod_phase: 'Pending' }),
        pod('redis-0', 'redis', 6379),
      ]),
    );
    const shipped = withKubernetesDiscoveryFromFile(await readPrometheusConfig('kubernetes.yml'), targetsFile);
    const config: PrometheusConfig = {
      ...shipped,
      global: { ...shipped.global, scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: shipped.scrape_configs.map((job) => ({ ...job, authorization: scrapeAuth })),
    };
    expect(scrapeJob(config, 'flotilla').file_sd_configs).toHaveLength(1);
    const prometheus = await startPrometheus(binary, await writeConfig(dir, 'kubernetes.yml', config), dir);
    servers.push(prometheus);

    const targets = await waitFor(
      async () => {
        const found = await prometheusApi<Targets>(prometheus, '/api/v1/targets');
        if (found.activeTargets.length !== 2 || found.activeTargets.some((t) => t.health !== 'up')) {
          throw new Error(`targets: ${JSON.stringify(found.activeTargets)}`);
        }
        return found;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 250,
        description: `both pods scraped\n--- prometheus ---\n${prometheus.logs()}`,
      },
    );
    expect(
      targets.activeTargets.map((t) => t.labels).sort((a, b) => (a['job'] ?? '').localeCompare(b['job'] ?? '')),
    ).toEqual([
      {
        job: 'flotilla-web',
        instance: 'flotilla-web-5d8f7-abcde',
        pod: 'flotilla-web-5d8f7-abcde',
        namespace: 'flotilla',
      },
      {
        job: 'flotilla-worker',
        instance: 'flotilla-worker-6c9d4-fghij',
        pod: 'flotilla-worker-6c9d4-fghij',
        namespace: 'flotilla',
      },
    ]);
    expect(targets.droppedTargets).toHaveLength(3);
  }, 60_000);
});
