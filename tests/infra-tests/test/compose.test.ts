import { existsSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { provisionedDataSource } from './support/dashboard.js';
import { infraDir, readInfraYaml } from './support/paths.js';
import { readPrometheusConfig } from './support/prometheus-config.js';

// Docker cannot run here, so these check what can go wrong without it: the files parse, every
// bind mount exists, and the files agree with each other on names, paths and ports.

interface ComposeService {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  extra_hosts?: string[];
  depends_on?: string[];
}
interface ComposeFile {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

async function readCompose(): Promise<ComposeFile> {
  return (await readInfraYaml('compose.yaml')) as ComposeFile;
}

function service(compose: ComposeFile, name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`compose.yaml has no service ${name}`);
  return found;
}

/** A short-syntax volume `source:target[:mode]` split up; bind mounts start with `.` or `/`. */
function mountsOf(svc: ComposeService): { source: string; target: string; bind: boolean }[] {
  return (svc.volumes ?? []).map((volume) => {
    const [source = '', target = ''] = volume.split(':');
    return { source, target, bind: source.startsWith('.') || source.startsWith('/') };
  });
}

/** Where a file inside a container comes from on the host, via the service's bind mounts. */
function hostPathOf(svc: ComposeService, containerPath: string): string | undefined {
  for (const mount of mountsOf(svc).filter((m) => m.bind)) {
    if (containerPath === mount.target) return resolve(infraDir, mount.source);
    if (containerPath.startsWith(`${mount.target}/`))
      return resolve(infraDir, mount.source, containerPath.slice(mount.target.length + 1));
  }
  return undefined;
}

describe('compose.yaml', () => {
  it('runs redis, prometheus, grafana, the collector and jaeger from pinned images', async () => {
    const compose = await readCompose();
    expect(Object.keys(compose.services).sort()).toEqual([
      'grafana',
      'jaeger',
      'otel-collector',
      'prometheus',
      'redis',
    ]);
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(svc.image, name).not.toMatch(/:latest$/);
    }
  });

  it('mounts only files and folders that exist, and declares its named volumes', async () => {
    const compose = await readCompose();
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const mount of mountsOf(svc)) {
        expect(mount.target, `${name}: ${mount.source}`).toMatch(/^\//);
        if (mount.bind)
          expect(existsSync(resolve(infraDir, mount.source)), `${name} mounts ${mount.source}`).toBe(true);
        else expect(compose.volumes ?? {}, `${name}: volume ${mount.source}`).toHaveProperty(mount.source);
      }
    }
  });

  it('publishes ports on 127.0.0.1 only', async () => {
    const compose = await readCompose();
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const port of svc.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('keeps Redis from evicting queue keys', async () => {
    const redis = service(await readCompose(), 'redis');
    expect(redis.command?.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it('gives Prometheus its config and every rule file it names, and a route to the services on the host', async () => {
    const prometheus = service(await readCompose(), 'prometheus');
    const configFlag = prometheus.command?.find((arg) => arg.startsWith('--config.file='));
    const containerConfig = configFlag?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
    expect(hostPathOf(prometheus, containerConfig)).toBe(resolve(infraDir, 'prometheus', 'prometheus-compose.yml'));
    const config = await readPrometheusConfig('prometheus-compose.yml');
    for (const rules of config.rule_files ?? []) {
      const host = hostPathOf(prometheus, posix.resolve(posix.dirname(containerConfig), rules));
      expect(host, `rule file ${rules}`).toBeDefined();
      expect(existsSync(host ?? ''), `rule file ${rules}`).toBe(true);
    }
    expect(prometheus.extra_hosts).toContain('host.docker.internal:host-gateway');
  });

  it('provisions Grafana with the data source and the dashboard folder, readable anonymously', async () => {
    const compose = await readCompose();
    const grafana = service(compose, 'grafana');
    expect(grafana.environment).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
    });
    expect(hostPathOf(grafana, '/etc/grafana/provisioning/datasources/prometheus.yml')).toBe(
      resolve(infraDir, 'grafana/provisioning/datasources/prometheus.yml'),
    );
    expect(hostPathOf(grafana, '/etc/grafana/provisioning/dashboards/flotilla.yml')).toBe(
      resolve(infraDir, 'grafana/provisioning/dashboards/flotilla.yml'),
    );
    const providers = (await readInfraYaml('grafana', 'provisioning', 'dashboards', 'flotilla.yml')) as {
      providers: { options: { path: string } }[];
    };
    for (const provider of providers.providers) {
      expect(hostPathOf(grafana, `${provider.options.path}/flotilla.json`)).toBe(
        resolve(infraDir, 'grafana/dashboards/flotilla.json'),
      );
    }
    const home = grafana.environment?.['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH'] ?? '';
    expect(existsSync(hostPathOf(grafana, home) ?? ''), home).toBe(true);
    // The data source points at the prometheus service on its container port.
    const source = await provisionedDataSource();
    expect(new URL(source.url).host).toBe('prometheus:9090');
    expect(compose.services).toHaveProperty('prometheus');
  });

  it('feeds the collector its config and publishes OTLP on 4317 (gRPC) and 4318 (HTTP)', async () => {
    const collector = service(await readCompose(), 'otel-collector');
    const configFlag = collector.command?.find((arg) => arg.startsWith('--config='));
    expect(hostPathOf(collector, configFlag?.slice('--config='.length) ?? '')).toBe(
      resolve(infraDir, 'otel/collector.yaml'),
    );
    expect(collector.ports).toEqual(
      expect.arrayContaining([expect.stringMatching(/:4317:4317$/), expect.stringMatching(/:4318:4318$/)]),
    );
  });
});

interface CollectorConfig {
  receivers: Record<string, { protocols?: Record<string, { endpoint?: string }> }>;
  processors: Record<string, unknown>;
  exporters: Record<string, { endpoint?: string } | null>;
  extensions?: Record<string, unknown>;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  };
}

describe('otel/collector.yaml', () => {
  it('receives OTLP over gRPC on 4317 and HTTP on 4318', async () => {
    const config = (await readInfraYaml('otel', 'collector.yaml')) as CollectorConfig;
    expect(config.receivers['otlp']?.protocols?.['grpc']?.endpoint).toBe('0.0.0.0:4317');
    expect(config.receivers['otlp']?.protocols?.['http']?.endpoint).toBe('0.0.0.0:4318');
  });

  it('wires only defined components into its pipelines, memory limiter first and batch last', async () => {
    const config = (await readInfraYaml('otel', 'collector.yaml')) as CollectorConfig;
    for (const extension of config.service.extensions ?? [])
      expect(config.extensions ?? {}).toHaveProperty([extension]);
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      for (const receiver of pipeline.receivers)
        expect(config.receivers, `${name} receiver`).toHaveProperty([receiver]);
      for (const exporter of pipeline.exporters)
        expect(config.exporters, `${name} exporter`).toHaveProperty([exporter]);
      const processors = pipeline.processors ?? [];
      for (const processor of processors) expect(config.processors, `${name} processor`).toHaveProperty([processor]);
      expect(processors[0], name).toBe('memory_limiter');
      expect(processors.at(-1), name).toBe('batch');
    }
  });

  it('sends traces to the jaeger service and re-exports metrics where Prometheus scrapes them', async () => {
    const config = (await readInfraYaml('otel', 'collector.yaml')) as CollectorConfig;
    const compose = await readCompose();
    const traces = config.service.pipelines['traces'];
    expect(traces?.exporters).toEqual(['otlp_grpc/jaeger']);
    const jaeger = config.exporters['otlp_grpc/jaeger']?.endpoint ?? '';
    expect(jaeger).toBe('jaeger:4317');
    expect(compose.services).toHaveProperty('jaeger');
    const metricsPort = (config.exporters['prometheus']?.endpoint ?? '').split(':').at(-1);
    const scraped = await readPrometheusConfig('prometheus-compose.yml');
    const job = scraped.scrape_configs.find((c) => c.job_name === 'otel-collector');
    expect(job?.static_configs?.[0]?.targets).toEqual([`otel-collector:${metricsPort}`]);
  });
});
