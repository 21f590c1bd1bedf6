import { loadWorkerConfig } from '@flotilla/config';
import { catalog } from '@flotilla/jobs';
import { JobProducer } from '@flotilla/queue';
import { createRedis, type RedisClient } from '@flotilla/redis';
import { uniqueQueuePrefix } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kustomizeRenderers, ofKind, type K8sObject } from './support/kustomize.js';
import { OVERLAY_CASES, renderCase } from './support/overlays.js';
import { readRepoText } from './support/paths.js';
import { onlyContainer, podEnv, serviceDeployment, type DeploymentObject } from './support/workloads.js';

// KEDA scales the worker on what its triggers read. A redis trigger on a key BullMQ never
// writes, or a Prometheus query on a queue label no queue has, reads 0 forever: the worker
// silently never scales. So every key and queue named in k8s is checked against the queues the
// code declares (the catalog), against the QUEUE_PREFIX the worker runs with, and, live, against
// the keys BullMQ really writes in Redis.

interface Trigger {
  type: string;
  name?: string;
  metricType?: string;
  metadata: Record<string, string>;
}
interface ScaledObjectObject extends K8sObject {
  spec: {
    scaleTargetRef: { name: string };
    minReplicaCount?: number;
    triggers: Trigger[];
    fallback?: { failureThreshold: number; replicas: number };
  };
}

/**
 * What KEDA's admission webhook says of a ScaledObject's fallback (read from its source,
 * CheckFallbackValid): 2.14 to 2.16 ('strict') accept one only when every trigger is neither cpu
 * nor memory and names metricType AverageValue; 2.17 and later ('relaxed') when at least one
 * such trigger does. Before 2.14 nothing checks, and a fallback applies only to AverageValue
 * metrics. Fallback itself came with 2.4.
 */
function kedaFallbackProblem(scaled: ScaledObjectObject, rules: 'strict' | 'relaxed'): string | undefined {
  if (!scaled.spec.fallback) return undefined;
  const eligible = (t: Trigger): boolean => t.type !== 'cpu' && t.type !== 'memory' && t.metricType === 'AverageValue';
  if (rules === 'strict') {
    const refused = scaled.spec.triggers.find((t) => !eligible(t));
    return refused
      ? `trigger ${refused.name ?? refused.type}: metricType=${refused.metricType ?? ''}, but fallback needs AverageValue`
      : undefined;
  }
  return scaled.spec.triggers.some(eligible) ? undefined : 'no AverageValue trigger for the fallback';
}

const QUEUE_GAUGES = ['flotilla_queue_jobs', 'flotilla_queue_oldest_waiting_seconds', 'flotilla_queue_workers'];
const declaredQueues = catalog.queues.map((q) => q.name);
// More workers cannot drain a rate-limited queue faster, so its backlog must not scale them out.
const rateLimited = new Set(catalog.queues.filter((q) => q.rateLimit).map((q) => q.name));

const renderers = await kustomizeRenderers();
const renders = new Map<string, K8sObject[]>();
const scaledCases: string[] = [];

beforeAll(async () => {
  const [primary] = renderers;
  if (!primary) return;
  for (const overlayCase of OVERLAY_CASES) {
    const objects = await renderCase(primary, overlayCase);
    renders.set(overlayCase.name, objects);
    if (ofKind(objects, 'ScaledObject').length > 0) scaledCases.push(overlayCase.name);
  }
});

/** The scaled Deployment's queues (WORKER_QUEUES, or all) and key prefix, as its config reads them. */
function scaledWorker(objects: readonly K8sObject[], scaled: ScaledObjectObject): { queues: string[]; prefix: string } {
  const deployment = objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.name === scaled.spec.scaleTargetRef.name,
  ) as DeploymentObject | undefined;
  if (!deployment) throw new Error(`ScaledObject ${scaled.metadata.name} targets no Deployment`);
  const config = loadWorkerConfig(podEnv(onlyContainer(deployment), objects));
  return { queues: [...(config.worker.queues ?? declaredQueues)], prefix: config.queue.prefix };
}

/** Queue names a PromQL query selects with queue="…". */
function queuesInQuery(query: string): string[] {
  return [...query.matchAll(/\bqueue\s*=\s*"([^"]*)"/g)].map((m) => m[1] ?? '');
}

/** `<prefix>:<queue>:<list>` split up (the prefix has no colon: the config schema forbids it). */
function splitKey(key: string): { prefix: string; queue: string; list: string } | undefined {
  const match = /^([^:]+):([^:]+):([^:]+)$/.exec(key);
  return match ? { prefix: match[1] ?? '', queue: match[2] ?? '', list: match[3] ?? '' } : undefined;
}

describe.skipIf(renderers.length === 0)('KEDA triggers', () => {
  it('exist in the overlays that autoscale the worker', () => {
    expect(scaledCases).toEqual(expect.arrayContaining(['prod', 'openshift', 'base+keda-redis']));
  });

  it('scale on every queue the worker consumes, with queue names the catalog declares', () => {
    for (const name of scaledCases) {
      const objects = renders.get(name) ?? [];
      for (const scaled of ofKind<ScaledObjectObject>(objects, 'ScaledObject')) {
        const { queues, prefix } = scaledWorker(objects, scaled);
        const covered = new Set<string>();
        for (const trigger of scaled.spec.triggers) {
          const named =
            trigger.type === 'prometheus'
              ? queuesInQuery(trigger.metadata['query'] ?? '')
              : [splitKey(trigger.metadata['listName'] ?? '')?.queue ?? ''];
          expect(named.length, `${name} ${trigger.name}: names a queue`).toBeGreaterThan(0);
          for (const queue of named) {
            expect(declaredQueues, `${name} ${trigger.name}`).toContain(queue);
            expect(rateLimited.has(queue), `${name} ${trigger.name}: scales on a rate-limited queue`).toBe(false);
            covered.add(queue);
          }
          if (trigger.type === 'redis') {
            const key = splitKey(trigger.metadata['listName'] ?? '');
            expect(key?.prefix, `${name} ${trigger.name}: QUEUE_PREFIX of the worker`).toBe(prefix);
            // KEDA's list scaler runs LLEN: only the wait list is a list.
            expect(key?.list, `${name} ${trigger.name}`).toBe('wait');
          }
        }
        expect([...covered].sort(), `${name}: queues with a trigger`).toEqual(
          queues.filter((q) => !rateLimited.has(q)).sort(),
        );
      }
    }
  });

  it('read the prometheus queue gauges with max over the workers, never a sum', async () => {
    const metricsPage = await readRepoText('docs', 'observability.md');
    for (const name of scaledCases) {
      for (const scaled of ofKind<ScaledObjectObject>(renders.get(name) ?? [], 'ScaledObject')) {
        for (const trigger of scaled.spec.triggers.filter((t) => t.type === 'prometheus')) {
          const query = trigger.metadata['query'] ?? '';
          const gauges = [...query.matchAll(/\b(flotilla_queue_\w+)/g)].map((m) => m[1] ?? '');
          expect(gauges.length, `${name} ${trigger.name}`).toBeGreaterThan(0);
          for (const gauge of gauges) {
            expect(QUEUE_GAUGES, `${gauge} is exported by the workers`).toContain(gauge);
            expect(metricsPage, `${gauge} is documented in docs/observability.md`).toContain(gauge);
          }
          // Each gauge selector sits directly inside `max by (queue…) (…)`.
          const selectors = query.match(/flotilla_queue_\w+\s*\{[^}]*\}|flotilla_queue_\w+/g) ?? [];
          const maxed = query.match(/max by \(queue[^)]*\) \(flotilla_queue_\w+/g) ?? [];
          expect(maxed.length, `${name} ${trigger.name}: ${query}`).toBe(selectors.length);
        }
      }
    }
  });

  it("pass KEDA's fallback checks on every release since 2.4, and fall back on every metric", () => {
    expect(scaledCases.length).toBeGreaterThan(0);
    for (const name of scaledCases) {
      for (const scaled of ofKind<ScaledObjectObject>(renders.get(name) ?? [], 'ScaledObject')) {
        expect(scaled.spec.fallback, name).toBeDefined();
        for (const rules of ['strict', 'relaxed'] as const)
          expect(
            kedaFallbackProblem(scaled, rules),
            `${name}, KEDA ${rules === 'strict' ? '2.14-2.16' : '2.17+'}`,
          ).toBeUndefined();
      }
    }
    const probe = (triggers: Trigger[]): ScaledObjectObject =>
      ({
        spec: { scaleTargetRef: { name: 'w' }, triggers, fallback: { failureThreshold: 3, replicas: 2 } },
      }) as unknown as ScaledObjectObject;
    const value = { type: 'prometheus', metricType: 'Value', metadata: {} };
    const average = { type: 'prometheus', metricType: 'AverageValue', metadata: {} };
    expect(kedaFallbackProblem(probe([average, value]), 'strict')).toBeDefined();
    expect(kedaFallbackProblem(probe([average, value]), 'relaxed')).toBeUndefined();
    expect(kedaFallbackProblem(probe([{ type: 'redis', metadata: {} }]), 'relaxed')).toBeDefined();
  });

  it('keep at least one worker when the signal comes from the workers themselves', () => {
    for (const name of scaledCases) {
      for (const scaled of ofKind<ScaledObjectObject>(renders.get(name) ?? [], 'ScaledObject')) {
        if (scaled.spec.triggers.some((t) => t.type === 'prometheus')) {
          expect(
            scaled.spec.minReplicaCount ?? 0,
            `${name}: at zero workers no gauge is exported and nothing scales up`,
          ).toBeGreaterThanOrEqual(1);
        }
      }
    }
  });

  it('read Redis only where no job type is prioritized (the list scaler cannot count the prioritized set)', () => {
    for (const name of scaledCases) {
      for (const scaled of ofKind<ScaledObjectObject>(renders.get(name) ?? [], 'ScaledObject')) {
        for (const trigger of scaled.spec.triggers.filter((t) => t.type === 'redis')) {
          const queue = splitKey(trigger.metadata['listName'] ?? '')?.queue ?? '';
          const prioritized = catalog
            .contractsOn(queue)
            .filter((c) => c.priority !== undefined)
            .map((c) => c.name);
          expect(
            prioritized,
            `${name}: jobs of ${queue} wait in a sorted set; use k8s/components/keda-prometheus`,
          ).toEqual([]);
        }
      }
    }
  });
});

describe.skipIf(renderers.length === 0)('KEDA redis keys, live', () => {
  // The keys are those a real producer writes: Flotilla's JobProducer with the worker's prefix
  // swapped for a unique one (the run's Redis is shared by every test file).
  let redis: RedisClient;
  let producer: JobProducer;
  const prefix = uniqueQueuePrefix();

  beforeAll(async () => {
    redis = createRedis({ url: inject('redisUrl'), role: 'producer', connectionName: 'deploy-tests:keda' });
    producer = new JobProducer({
      catalog,
      connection: redis,
      prefix,
      retention: { completedMs: 60_000, failedMs: 60_000, count: 10, eventsMaxLen: 100 },
      idempotencySecret: 'deploy-tests-secret-deploy-tests-secret',
    });
    for (const queue of declaredQueues) {
      await producer.queue(queue).add('keda-probe', {});
      await producer.queue(queue).add('keda-probe', {}, { priority: 1 });
    }
  });

  afterAll(async () => {
    await producer?.close();
    await redis?.quit();
  });

  it('hold the waiting jobs in <prefix>:<queue>:wait and the prioritized ones in <prefix>:<queue>:prioritized', async () => {
    for (const queue of declaredQueues) {
      expect(await redis.type(`${prefix}:${queue}:wait`)).toBe('list');
      expect(await redis.llen(`${prefix}:${queue}:wait`)).toBe(1);
      expect(await redis.zcard(`${prefix}:${queue}:prioritized`)).toBe(1);
    }
  });

  it('are the keys the redis triggers read, with the test prefix in place of the worker prefix', async () => {
    for (const name of scaledCases) {
      const objects = renders.get(name) ?? [];
      for (const scaled of ofKind<ScaledObjectObject>(objects, 'ScaledObject')) {
        const worker = scaledWorker(objects, scaled);
        for (const trigger of scaled.spec.triggers.filter((t) => t.type === 'redis')) {
          const key = trigger.metadata['listName'] ?? '';
          expect(key.startsWith(`${worker.prefix}:`), key).toBe(true);
          const live = `${prefix}${key.slice(worker.prefix.length)}`;
          expect(await redis.llen(live), `${name} ${trigger.name}: ${key}`).toBe(1);
        }
      }
    }
  });

  it('use the worker Deployment of the base, which consumes every queue', () => {
    const objects = renders.get('prod') ?? [];
    expect(scaledWorker(objects, ofKind<ScaledObjectObject>(objects, 'ScaledObject')[0]!).queues.sort()).toEqual(
      [...declaredQueues].sort(),
    );
    expect(serviceDeployment(objects, 'worker').metadata.name).toBe('flotilla-worker');
  });
});
