import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { infraPath, readInfraYaml } from './paths.js';

/** One `scrape_configs` entry, as far as the tests look into it. */
export interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  kubernetes_sd_configs?: unknown[];
  file_sd_configs?: { files: string[]; refresh_interval?: string }[];
  authorization?: { type?: string; credentials?: string; credentials_file?: string };
  [key: string]: unknown;
}

/** A Prometheus configuration file, as far as the tests look into it. */
export interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs: ScrapeConfig[];
  [key: string]: unknown;
}

/** Reads one of the shipped configurations in infra/prometheus. */
export async function readPrometheusConfig(file: string): Promise<PrometheusConfig> {
  const config = (await readInfraYaml('prometheus', file)) as PrometheusConfig | null;
  if (!config || !Array.isArray(config.scrape_configs))
    throw new Error(`infra/prometheus/${file} has no scrape_configs`);
  return config;
}

/** The scrape config of a job; throws when the file has none of that name. */
export function scrapeJob(config: PrometheusConfig, jobName: string): ScrapeConfig {
  const job = config.scrape_configs.find((c) => c.job_name === jobName);
  if (!job) throw new Error(`no scrape config named ${jobName}`);
  return job;
}

/**
 * A copy of `config` whose Kubernetes discovery reads `targetsFile` instead of the API server.
 * Relabelling only sees labels, so targets carrying `__meta_kubernetes_*` labels exercise the
 * same rules; and a promtool built without Kubernetes discovery (Debian's) can check the rest.
 */
export function withKubernetesDiscoveryFromFile(config: PrometheusConfig, targetsFile: string): PrometheusConfig {
  return {
    ...config,
    scrape_configs: config.scrape_configs.map((job) => {
      if (!job.kubernetes_sd_configs) return job;
      const { kubernetes_sd_configs: _kubernetes, ...rest } = job;
      return { ...rest, file_sd_configs: [{ files: [targetsFile], refresh_interval: '1s' }] };
    }),
  };
}

/** Writes `config` into `dir` with the rule files pointing at infra/prometheus; returns its path. */
export async function writeConfig(dir: string, name: string, config: PrometheusConfig): Promise<string> {
  const file = join(dir, name);
  const rules = (config.rule_files ?? []).map((rule) => infraPath('prometheus', rule));
  await writeFile(file, stringify({ ...config, rule_files: rules }));
  return file;
}
