import { isIP } from 'node:net';
import { loadWebConfig, loadWorkerConfig, type CommonConfig } from '@flotilla/config';
import { parseRedisUrl, type RedisNode, type RedisTarget } from '@flotilla/redis';
import { beforeAll, describe, expect, it } from 'vitest';
import { kustomizeRenderers, objectId, ofKind, type K8sObject } from './support/kustomize.js';
import {
  NetworkPolicies,
  describeConnection,
  labelSelectorMatches,
  policyDirections,
  selectsEveryPod,
  type AddressPeer,
  type Connection,
  type NetworkPolicyObject,
  type Peer,
  type PodPeer,
  type PodPort,
} from './support/network-policies.js';
import { OVERLAY_CASES, renderCase } from './support/overlays.js';
import { onlyContainer, podEnv, podTemplates, selects, serviceDeployment } from './support/workloads.js';

// Every overlay's NetworkPolicies, evaluated the way a network plugin enforces them
// (support/network-policies.ts): the namespace denies by default; the web and the worker can still
// open what they need and be reached where they serve; the in-cluster Redis accepts its clients;
// nothing else gets through. No cluster runs here: this proves what the policies say, not that a
// cluster's network plugin enforces them (egress needs one that does: Calico, Cilium, OVN-Kubernetes).
// Kubelet probes are not checked: traffic between a pod and its own node is always allowed.

const renderers = await kustomizeRenderers();
const renders = new Map<string, K8sObject[]>();

beforeAll(async () => {
  const [primary] = renderers;
  if (!primary) return;
  for (const overlayCase of OVERLAY_CASES) renders.set(overlayCase.name, await renderCase(primary, overlayCase));
});

function rendered(name: string): K8sObject[] {
  const objects = renders.get(name);
  if (!objects) throw new Error(`${name} was not rendered`);
  return objects;
}

/** A pod of another namespace (which carries the `kubernetes.io/metadata.name` label every namespace has). */
function foreignPod(namespace: string, labels: Record<string, string>, ports: PodPort[] = []): PodPeer {
  const name = `${namespace}/${Object.values(labels).join(',')}`;
  return { kind: 'pod', name, namespace, namespaceLabels: { 'kubernetes.io/metadata.name': namespace }, labels, ports };
}

const dnsPorts = (port: number): PodPort[] => [
  { name: 'dns', containerPort: port, protocol: 'UDP' },
  { name: 'dns-tcp', containerPort: port, protocol: 'TCP' },
];

// What lives outside the namespace, where clusters usually put it. Addresses are documentation
// ranges (RFC 5737) standing in for the internet and for a managed Redis.
const INTERNET: AddressPeer = { kind: 'address', ip: '203.0.113.7' };
const MANAGED_REDIS: AddressPeer = { kind: 'address', ip: '198.51.100.10' };
const KUBE_DNS = foreignPod('kube-system', { 'k8s-app': 'kube-dns' }, dnsPorts(53));
const DNS_SERVERS = [
  KUBE_DNS,
  // OpenShift's dns-default pods answer on 5353 behind the Service's port 53.
  foreignPod('openshift-dns', { 'dns.operator.openshift.io/daemonset-dns': 'default' }, dnsPorts(5353)),
];
const OTEL_COLLECTOR = foreignPod('observability', { 'app.kubernetes.io/name': 'opentelemetry-collector' }, [
  { name: 'otlp-grpc', containerPort: 4317 },
  { name: 'otlp-http', containerPort: 4318 },
]);
const PROMETHEUS = foreignPod('monitoring', { 'app.kubernetes.io/name': 'prometheus' });
const SCRAPERS = [
  PROMETHEUS,
  foreignPod('openshift-user-workload-monitoring', { 'app.kubernetes.io/name': 'prometheus' }),
];
const FRONT_DOORS = [
  foreignPod('ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' }),
  foreignPod('openshift-ingress', {
    'ingresscontroller.operator.openshift.io/deployment-ingresscontroller': 'default',
  }),
];
// The Redis ports every overlay must allow whatever REDIS_URL says: plain, TLS, Sentinel.
const REDIS_PORTS = [6379, 6380, 26379];
const SERVICES = ['web', 'worker'] as const;
type ServiceName = (typeof SERVICES)[number];

interface ServiceObject extends K8sObject {
  spec: { selector: Record<string, string>; ports: { port: number; targetPort: number | string }[] };
}

/** A render's namespace as the policies see it. */
interface NamespaceView {
  readonly name: string;
  readonly objects: readonly K8sObject[];
  readonly policies: NetworkPolicies;
  readonly policyObjects: readonly NetworkPolicyObject[];
  /** The pods of every workload, by owner (`Deployment/flotilla-web`). */
  readonly pods: ReadonlyMap<string, PodPeer>;
  /** A pod no manifest declares, as `kubectl run debug --image=busybox` would start. */
  readonly stranger: PodPeer;
}

function namespaceView(objects: readonly K8sObject[]): NamespaceView {
  const name = serviceDeployment(objects, 'web').metadata.namespace;
  if (!name) throw new Error('the render puts the web in no namespace');
  const declared = objects.find((o) => o.kind === 'Namespace' && o.metadata.name === name);
  const namespaceLabels = { ...declared?.metadata.labels, 'kubernetes.io/metadata.name': name };
  const pod = (owner: string, labels: Record<string, string>, ports: PodPort[]): PodPeer => ({
    kind: 'pod',
    name: owner,
    namespace: name,
    namespaceLabels,
    labels,
    ports,
  });
  const policyObjects = ofKind<NetworkPolicyObject>(objects, 'NetworkPolicy');
  const elsewhere = policyObjects.filter((policy) => policy.metadata.namespace !== name);
  if (elsewhere.length > 0)
    throw new Error(`${elsewhere.map(objectId).join(', ')} not in ${name}, the web's namespace`);
  return {
    name,
    objects,
    policies: new NetworkPolicies(name, policyObjects),
    policyObjects,
    pods: new Map(
      podTemplates(objects).map(({ owner, template }) => [
        owner,
        pod(
          owner,
          template.metadata.labels ?? {},
          template.spec.containers.flatMap((c) => c.ports ?? []),
        ),
      ]),
    ),
    stranger: pod('Pod/debug', { run: 'debug' }, [{ containerPort: 8080 }]),
  };
}

function podOf(view: NamespaceView, owner: string): PodPeer {
  const pod = view.pods.get(owner);
  if (!pod) throw new Error(`no ${owner} among ${[...view.pods.keys()].join(', ')}`);
  return pod;
}

const tcp = (from: Peer, to: Peer, port: number): Connection => ({ from, to, port, protocol: 'TCP' });

/** Why each refused connection is refused; empty when all get through. */
function refused(view: NamespaceView, connections: readonly Connection[]): string[] {
  return connections.flatMap((connection) => view.policies.denial(connection) ?? []);
}

/** The connections that get through; empty when all are refused. */
function admitted(view: NamespaceView, connections: readonly Connection[]): string[] {
  return connections.filter((connection) => view.policies.denial(connection) === undefined).map(describeConnection);
}

/** The configuration a service's process starts with in this render. */
function serviceConfig(objects: readonly K8sObject[], service: ServiceName): CommonConfig {
  const env = podEnv(onlyContainer(serviceDeployment(objects, service)), objects);
  return service === 'web' ? loadWebConfig(env) : loadWorkerConfig(env);
}

function redisNodes(target: RedisTarget): readonly RedisNode[] {
  if (target.kind === 'standalone') return [target.node];
  return target.kind === 'sentinel' ? target.sentinels : target.nodes;
}

/**
 * Where a connection to a Redis node lands: the pod behind a Service of this render (on its
 * target port), or an address outside the namespace.
 */
function redisEndpoint(view: NamespaceView, node: RedisNode): { to: Peer; port: number } {
  if (isIP(node.host)) return { to: { kind: 'address', ip: node.host }, port: node.port };
  // `name`, `name.namespace`, `name.namespace.svc…`
  const [serviceName, serviceNamespace = view.name] = node.host.split('.');
  const service =
    serviceNamespace === view.name
      ? ofKind<ServiceObject>(view.objects, 'Service').find((s) => s.metadata.name === serviceName)
      : undefined;
  if (!service) return { to: MANAGED_REDIS, port: node.port };
  const servicePort = service.spec.ports.find((p) => p.port === node.port);
  if (!servicePort) throw new Error(`${objectId(service)} has no port ${node.port}`);
  const backend = podTemplates(view.objects).find(({ template }) =>
    selects(service.spec.selector, template.metadata.labels),
  );
  if (!backend) throw new Error(`${objectId(service)} selects no pod`);
  const to = podOf(view, backend.owner);
  const { targetPort } = servicePort;
  const port = typeof targetPort === 'number' ? targetPort : to.ports.find((p) => p.name === targetPort)?.containerPort;
  if (port === undefined) throw new Error(`${backend.owner} has no port named ${targetPort}`);
  return { to, port };
}

describe.skipIf(renderers.length === 0).each(OVERLAY_CASES.map((c) => c.name))('k8s %s network policies', (name) => {
  it('deny by default: one policy selects every pod for ingress and egress and allows nothing, so a pod nobody declared is cut off', () => {
    const view = namespaceView(rendered(name));
    const bothWays = (p: NetworkPolicyObject): boolean =>
      policyDirections(p).includes('Ingress') && policyDirections(p).includes('Egress');
    const denyAll = view.policyObjects.filter(
      (p) =>
        selectsEveryPod(p) && bothWays(p) && (p.spec.ingress ?? []).length === 0 && (p.spec.egress ?? []).length === 0,
    );
    expect(denyAll.map(objectId), 'a default-deny NetworkPolicy').toHaveLength(1);
    const { stranger } = view;
    const web = podOf(view, 'Deployment/flotilla-web');
    const attempts: Connection[] = [
      tcp(PROMETHEUS, stranger, 8080),
      tcp(web, stranger, 8080),
      { from: stranger, to: KUBE_DNS, port: 53, protocol: 'UDP' },
      tcp(stranger, INTERNET, 443),
      tcp(stranger, MANAGED_REDIS, 6379),
      tcp(stranger, web, serviceConfig(view.objects, 'web').port),
    ];
    expect(admitted(view, attempts)).toEqual([]);
  });

  it('isolates every workload for ingress and egress', () => {
    const view = namespaceView(rendered(name));
    const open = [...view.pods.values()].flatMap((pod) =>
      (['Ingress', 'Egress'] as const)
        .filter((direction) => view.policies.isolating(pod, direction).length === 0)
        .map((direction) => `${pod.name}: ${direction}`),
    );
    expect(open).toEqual([]);
  });

  it('lets web and worker resolve names (53, and 5353 on OpenShift), reach any Redis on 6379, 6380 and 26379 and the OTLP collector', () => {
    const view = namespaceView(rendered(name));
    const connections = SERVICES.flatMap((service) => {
      const pod = podOf(view, `Deployment/flotilla-${service}`);
      return [
        ...DNS_SERVERS.flatMap((dns) =>
          dns.ports.map(({ containerPort, protocol = 'TCP' }): Connection => ({
            from: pod,
            to: dns,
            port: containerPort,
            protocol,
          })),
        ),
        ...REDIS_PORTS.map((port) => tcp(pod, MANAGED_REDIS, port)),
        ...OTEL_COLLECTOR.ports.map(({ containerPort }) => tcp(pod, OTEL_COLLECTOR, containerPort)),
      ];
    });
    expect(connections).toHaveLength(2 * (4 + 3 + 2));
    expect(refused(view, connections)).toEqual([]);
  });

  it('connects each service to the Redis its configuration names, and that Redis accepts it', () => {
    const view = namespaceView(rendered(name));
    const connections = SERVICES.flatMap((service) => {
      const pod = podOf(view, `Deployment/flotilla-${service}`);
      const { redis } = serviceConfig(view.objects, service);
      return [...new Set([redis.queueUrl, redis.cacheUrl])].flatMap((url) =>
        redisNodes(parseRedisUrl(url)).map((node) => {
          const { to, port } = redisEndpoint(view, node);
          return tcp(pod, to, port);
        }),
      );
    });
    expect(connections.length).toBeGreaterThan(0);
    expect(refused(view, connections)).toEqual([]);
  });

  it('lets Prometheus reach both services and the ingress controller or router the web, on the port each serves', () => {
    const view = namespaceView(rendered(name));
    const web = podOf(view, 'Deployment/flotilla-web');
    const worker = podOf(view, 'Deployment/flotilla-worker');
    const connections = [
      ...[...FRONT_DOORS, ...SCRAPERS].map((peer) => tcp(peer, web, serviceConfig(view.objects, 'web').port)),
      ...SCRAPERS.map((peer) => tcp(peer, worker, serviceConfig(view.objects, 'worker').port)),
    ];
    expect(refused(view, connections)).toEqual([]);
  });

  it('lets the worker, and only the worker, open HTTP and HTTPS to any address (check-url)', () => {
    const view = namespaceView(rendered(name));
    const worker = podOf(view, 'Deployment/flotilla-worker');
    const web = podOf(view, 'Deployment/flotilla-web');
    expect(refused(view, [tcp(worker, INTERNET, 443), tcp(worker, INTERNET, 80)])).toEqual([]);
    expect(admitted(view, [tcp(web, INTERNET, 443), tcp(web, INTERNET, 80)])).toEqual([]);
  });

  it('keeps every other port closed, in and out', () => {
    const view = namespaceView(rendered(name));
    const web = podOf(view, 'Deployment/flotilla-web');
    const worker = podOf(view, 'Deployment/flotilla-worker');
    const redis = view.pods.get('Deployment/flotilla-redis');
    const connections = [
      // Node's inspector, or anything else a process might open by mistake.
      tcp(PROMETHEUS, web, 9229),
      tcp(PROMETHEUS, worker, 9229),
      tcp(worker, INTERNET, 22),
      tcp(worker, INTERNET, 5432),
      tcp(web, INTERNET, 5432),
      ...(redis
        ? [
            tcp(redis, INTERNET, 443),
            tcp(redis, MANAGED_REDIS, 6379),
            tcp(foreignPod('elsewhere', { app: 'client' }), redis, 6379),
          ]
        : []),
    ];
    expect(admitted(view, connections)).toEqual([]);
  });
});

describe('network policy evaluator', () => {
  // The evaluator itself, on policies whose verdicts are known: an evaluator that allows
  // everything (or nothing) would make every check above meaningless.
  const namespace = 'app';
  const pod = (labels: Record<string, string>, ports: PodPort[] = []): PodPeer => ({
    kind: 'pod',
    name: JSON.stringify(labels),
    namespace,
    namespaceLabels: { 'kubernetes.io/metadata.name': namespace, team: 'a' },
    labels,
    ports,
  });
  const policy = (name: string, spec: NetworkPolicyObject['spec']): NetworkPolicyObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec,
  });
  const api = pod({ app: 'api' }, [
    { name: 'http', containerPort: 8080 },
    { name: 'metrics', containerPort: 9090, protocol: 'UDP' },
  ]);
  const client = pod({ app: 'client' });

  it('leaves pods no policy selects open, and closes them with an empty policy of both types', () => {
    expect(new NetworkPolicies(namespace, []).denial(tcp(client, api, 1))).toBeUndefined();
    const closed = new NetworkPolicies(namespace, [
      policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    ]);
    expect(closed.denial(tcp(client, api, 8080))).toBe(
      `no egress rule of deny allows TCP 8080 from {"app":"client"} to {"app":"api"}; no ingress rule of deny allows TCP 8080 from {"app":"client"} to {"app":"api"}`,
    );
    // Without policyTypes a policy governs Ingress, and Egress only when it has egress rules.
    const ingressOnly = new NetworkPolicies(namespace, [policy('in', { podSelector: {} })]);
    expect(ingressOnly.denial(tcp(client, INTERNET, 443))).toBeUndefined();
    expect(ingressOnly.denial(tcp(INTERNET, api, 8080))).toContain('no ingress rule of in');
  });

  it('resolves named ports on the destination pod with their protocol, and port ranges', () => {
    const policies = new NetworkPolicies(namespace, [
      policy('api', {
        podSelector: { matchLabels: { app: 'api' } },
        ingress: [{ ports: [{ port: 'http' }, { port: 'metrics', protocol: 'UDP' }, { port: 30000, endPort: 30010 }] }],
      }),
    ]);
    expect(policies.denial(tcp(client, api, 8080))).toBeUndefined();
    expect(policies.denial({ from: client, to: api, port: 9090, protocol: 'UDP' })).toBeUndefined();
    expect(policies.denial(tcp(client, api, 9090))).toBeDefined();
    expect(policies.denial(tcp(client, api, 30005))).toBeUndefined();
    expect(policies.denial(tcp(client, api, 30011))).toBeDefined();
  });

  it('matches peers: pod selectors within the namespace, namespace selectors across, ipBlocks outside the pod network', () => {
    const policies = new NetworkPolicies(namespace, [
      policy('api', {
        podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'web'] }] },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: 'client' } } }] },
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: 'b' } },
                podSelector: { matchExpressions: [{ key: 'role', operator: 'Exists' }] },
              },
            ],
          },
        ],
        egress: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] }],
      }),
    ]);
    const foreign = (labels: Record<string, string>): PodPeer => ({
      ...pod(labels),
      namespace: 'other',
      namespaceLabels: { team: 'b' },
    });
    expect(policies.denial(tcp(client, api, 1))).toBeUndefined();
    expect(
      policies.denial(tcp(foreign({ app: 'client' }), api, 1)),
      'a podSelector alone stays in its namespace',
    ).toBeDefined();
    expect(policies.denial(tcp(foreign({ role: 'x' }), api, 1))).toBeUndefined();
    expect(policies.denial(tcp(foreign({ app: 'x' }), api, 1)), 'both selectors must match').toBeDefined();
    expect(policies.denial(tcp(api, { kind: 'address', ip: '203.0.113.7' }, 443))).toBeUndefined();
    expect(policies.denial(tcp(api, { kind: 'address', ip: '203.0.113.200' }, 443)), 'except').toBeDefined();
    expect(
      policies.denial(tcp(api, { kind: 'address', ip: '2001:db8::1' }, 443)),
      'another address family',
    ).toBeDefined();
    expect(policies.denial(tcp(api, client, 443)), 'an ipBlock never counts for pods').toBeDefined();
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] }, {})).toBe(
      true,
    );
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, { app: 'api' })).toBe(
      false,
    );
  });
});
