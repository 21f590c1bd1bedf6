import { readdir } from 'node:fs/promises';
import { loadWebConfig, loadWorkerConfig } from '@flotilla/config';
import { describe, expect, it } from 'vitest';
import { PLATFORM_LIMITS } from './support/platform-limits.js';
import { readRepoText, readRepoYaml } from './support/paths.js';

// Elastic Beanstalk (Node.js platform, Amazon Linux 2023): the option settings and the nginx
// snippet that bundle.sh puts into the source bundle, checked against the configuration the
// processes start with. docker-build.test.ts builds the bundle itself and runs it.

type OptionSettings = Record<string, Record<string, string>>;

/** Namespaces of Elastic Beanstalk option settings the files may use. */
const NAMESPACES = new Set([
  'aws:elasticbeanstalk:application:environment',
  'aws:elasticbeanstalk:environment:process:default',
  'aws:elasticbeanstalk:healthreporting:system',
  'aws:autoscaling:trigger',
  'aws:autoscaling:asg',
]);

async function options(): Promise<OptionSettings> {
  const merged: OptionSettings = {};
  for (const file of (
    await readdir(new URL('../../../infra/elasticbeanstalk/ebextensions/', import.meta.url))
  ).sort()) {
    const config = (await readRepoYaml('infra', 'elasticbeanstalk', 'ebextensions', file)) as {
      option_settings: OptionSettings;
    };
    expect(Object.keys(config), file).toEqual(['option_settings']);
    for (const [namespace, settings] of Object.entries(config.option_settings)) {
      expect(NAMESPACES, `${file}: ${namespace}`).toContain(namespace);
      for (const [name, value] of Object.entries(settings))
        expect(typeof value, `${file}: ${namespace} ${name} is a string`).toBe('string');
      merged[namespace] = { ...merged[namespace], ...settings };
    }
  }
  return merged;
}

/** nginx directives of the snippet, name → value. */
async function nginxDirectives(): Promise<Map<string, string>> {
  const text = await readRepoText(
    'infra',
    'elasticbeanstalk',
    'platform',
    'nginx',
    'conf.d',
    'elasticbeanstalk',
    'flotilla.conf',
  );
  const directives = new Map<string, string>();
  for (const line of text.split('\n')) {
    const content = line.replace(/#.*/, '').trim();
    if (!content) continue;
    const match = /^([a-z_]+)\s+([^;]+);$/.exec(content);
    expect(match, `not a simple nginx directive: ${content}`).not.toBeNull();
    directives.set(match?.[1] ?? '', match?.[2] ?? '');
  }
  return directives;
}

const seconds = (value: string | undefined): number => {
  const match = /^(\d+)(s|m)?$/.exec(value ?? '');
  if (!match) throw new Error(`not a duration: ${value}`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
};
const bytes = (value: string | undefined): number => {
  const match = /^(\d+)([kmg])?$/i.exec(value ?? '');
  if (!match) throw new Error(`not a size: ${value}`);
  return Number(match[1]) * ({ k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1);
};

describe('Elastic Beanstalk configuration', () => {
  it('uses known option namespaces with string values', async () => {
    expect(Object.keys(await options()).length).toBeGreaterThan(0);
  });

  it('starts web and worker with a configuration their schema accepts (EB sets PORT, the bundle the rest)', async () => {
    const env = {
      ...(await options())['aws:elasticbeanstalk:application:environment'],
      REDIS_URL: 'rediss://master.flotilla.abc123.euw1.cache.amazonaws.com:6379',
      PORT: '8080',
    };
    const web = loadWebConfig(env);
    const worker = loadWorkerConfig({ ...env, PORT: '3001' });
    expect(web.port).toBe(8080);
    expect(worker.queue).toEqual(web.queue);
    expect(web.queue.evictionPolicyCheck).toBe('refuse');
  });

  it('checks health on /readyz and lets a draining instance finish before the load balancer drops it', async () => {
    const health = (await options())['aws:elasticbeanstalk:environment:process:default'] ?? {};
    expect(health['HealthCheckPath']).toBe('/readyz');
    const web = loadWebConfig({ REDIS_URL: 'redis://x:6379' });
    expect(Number(health['DeregistrationDelay'])).toBeGreaterThanOrEqual(web.shutdown.timeoutMs / 1000);
  });

  it('keeps nginx and the load balancer out of long polls, event streams and body limits', async () => {
    const nginx = await nginxDirectives();
    const web = loadWebConfig({ REDIS_URL: 'redis://x:6379' });
    const readTimeout = seconds(nginx.get('proxy_read_timeout'));
    expect(readTimeout).toBeGreaterThan(web.http.maxWaitMs / 1000);
    expect(readTimeout).toBeGreaterThan(2 * 50); // the largest SSE_HEARTBEAT_SECONDS the schema allows, twice
    expect(bytes(nginx.get('client_max_body_size'))).toBeGreaterThanOrEqual(100 * 1024 * 1024); // REQUEST_BODY_LIMIT_BYTES' maximum
    expect(web.http.keepAliveTimeoutMs / 1000).toBeGreaterThan(PLATFORM_LIMITS.elasticBeanstalk.albIdleTimeoutSeconds);
    expect(web.http.sseHeartbeatMs / 1000).toBeLessThan(PLATFORM_LIMITS.elasticBeanstalk.albIdleTimeoutSeconds);
  });
});
