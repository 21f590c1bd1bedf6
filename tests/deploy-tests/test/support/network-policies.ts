import { BlockList, isIP } from 'node:net';
import type { K8sObject } from './kustomize.js';

// NetworkPolicy semantics (networking.k8s.io/v1), as a network plugin enforces them, so the tests
// can ask "would this connection get through?" of rendered manifests instead of matching strings:
// - a pod selected by a policy listing a direction is isolated in that direction; an isolated pod
//   accepts (ingress) or opens (egress) only what a rule of one of those policies allows;
// - a connection needs the sender's egress and the receiver's ingress to allow it;
// - an empty `from`/`to` or `ports` means any peer or any port; a named port is the destination
//   pod's container port of that name and protocol;
// - an ipBlock matches addresses outside the pod network only: whether a CNI matches pod IPs
//   against it (before or after NAT) is left undefined by the API, so it is never counted here.
// Pods of other namespaces are not subject to these policies (their namespace's are unknown).

/** A Kubernetes label selector; an empty one selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** Protocols a NetworkPolicy port can name. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** Ingress (to a pod) or Egress (from a pod). */
export type Direction = 'Ingress' | 'Egress';

interface PolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyRule {
  ports?: PolicyPort[];
  from?: PolicyPeer[];
  to?: PolicyPeer[];
}

/** A NetworkPolicy as rendered. */
export interface NetworkPolicyObject extends K8sObject {
  spec: { podSelector: LabelSelector; policyTypes?: Direction[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}

/** A container port as a policy sees it. */
export interface PodPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
}

/** A pod: its namespace (name and labels), its labels and its containers' ports. */
export interface PodPeer {
  readonly kind: 'pod';
  /** For messages, e.g. `Deployment/flotilla-web` or `kube-system/kube-dns`. */
  readonly name: string;
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly PodPort[];
}

/** An address outside the pod network: a managed service, a site on the internet. */
export interface AddressPeer {
  readonly kind: 'address';
  readonly ip: string;
}

/** One end of a connection. */
export type Peer = PodPeer | AddressPeer;

/** A connection attempt: who opens it, to whom, on which port. */
export interface Connection {
  readonly from: Peer;
  readonly to: Peer;
  readonly port: number;
  readonly protocol: Protocol;
}

/** Whether a label selector selects these labels (an empty selector selects all). */
export function labelSelectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const value = (key: string): string | undefined => (Object.hasOwn(labels, key) ? labels[key] : undefined);
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, wanted]) => value(key) === wanted);
  return (
    byLabels &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const actual = value(key);
      switch (operator) {
        case 'In':
          return actual !== undefined && values.includes(actual);
        case 'NotIn':
          return actual === undefined || !values.includes(actual);
        case 'Exists':
          return actual !== undefined;
        case 'DoesNotExist':
          return actual === undefined;
      }
    })
  );
}

/** Whether a policy selects every pod of its namespace (`podSelector: {}`). */
export function selectsEveryPod(policy: NetworkPolicyObject): boolean {
  const { matchLabels = {}, matchExpressions = [] } = policy.spec.podSelector;
  return Object.keys(matchLabels).length === 0 && matchExpressions.length === 0;
}

/** The directions a policy governs; without policyTypes, Ingress, and Egress when it has egress rules. */
export function policyDirections(policy: NetworkPolicyObject): Direction[] {
  return policy.spec.policyTypes ?? (policy.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
}

function describePeer(peer: Peer): string {
  return peer.kind === 'pod' ? peer.name : peer.ip;
}

/** A connection in words, e.g. `TCP 443 from Deployment/flotilla-worker to 203.0.113.7`. */
export function describeConnection(connection: Connection): string {
  return `${connection.protocol} ${connection.port} from ${describePeer(connection.from)} to ${describePeer(connection.to)}`;
}

function inIpBlock(block: { cidr: string; except?: string[] }, ip: string): boolean {
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  const list = (cidrs: readonly string[]): BlockList => {
    const blocks = new BlockList();
    for (const cidr of cidrs) {
      const [network = '', prefix = ''] = cidr.split('/');
      // An IPv4 block never holds an IPv6 address, nor the other way round.
      if ((isIP(network) === 6 ? 'ipv6' : 'ipv4') === family) blocks.addSubnet(network, Number(prefix), family);
    }
    return blocks;
  };
  return list([block.cidr]).check(ip, family) && !list(block.except ?? []).check(ip, family);
}

/**
 * The NetworkPolicies of one namespace, evaluated the way a network plugin enforces them (see
 * the top of this file): which policies isolate a pod, and whether a connection gets through.
 */
export class NetworkPolicies {
  readonly #namespace: string;
  readonly #policies: readonly NetworkPolicyObject[];

  constructor(namespace: string, policies: readonly NetworkPolicyObject[]) {
    this.#namespace = namespace;
    this.#policies = policies;
  }

  /** The policies that isolate a pod in a direction: they select it and govern that direction. */
  isolating(pod: PodPeer, direction: Direction): NetworkPolicyObject[] {
    if (pod.namespace !== this.#namespace) return [];
    return this.#policies.filter(
      (policy) =>
        policyDirections(policy).includes(direction) && labelSelectorMatches(policy.spec.podSelector, pod.labels),
    );
  }

  /** Why a connection would be refused (the sender's egress, the receiver's ingress), or undefined when it gets through. */
  denial(connection: Connection): string | undefined {
    const refusals: string[] = [];
    const { from, to } = connection;
    const what = describeConnection(connection);
    if (from.kind === 'pod') {
      const isolating = this.isolating(from, 'Egress');
      if (
        isolating.length > 0 &&
        !isolating.some((policy) =>
          (policy.spec.egress ?? []).some((rule) => this.#allows(rule, rule.to, to, connection)),
        )
      ) {
        refusals.push(`no egress rule of ${names(isolating)} allows ${what}`);
      }
    }
    if (to.kind === 'pod') {
      const isolating = this.isolating(to, 'Ingress');
      if (
        isolating.length > 0 &&
        !isolating.some((policy) =>
          (policy.spec.ingress ?? []).some((rule) => this.#allows(rule, rule.from, from, connection)),
        )
      ) {
        refusals.push(`no ingress rule of ${names(isolating)} allows ${what}`);
      }
    }
    return refusals.length > 0 ? refusals.join('; ') : undefined;
  }

  #allows(rule: PolicyRule, peers: PolicyPeer[] | undefined, peer: Peer, connection: Connection): boolean {
    const peerAllowed = !peers || peers.length === 0 || peers.some((candidate) => this.#peerMatches(candidate, peer));
    return peerAllowed && portAllowed(rule.ports, connection);
  }

  #peerMatches(candidate: PolicyPeer, peer: Peer): boolean {
    if (candidate.ipBlock) return peer.kind === 'address' && inIpBlock(candidate.ipBlock, peer.ip);
    if (peer.kind !== 'pod') return false;
    const namespaceMatches = candidate.namespaceSelector
      ? labelSelectorMatches(candidate.namespaceSelector, peer.namespaceLabels)
      : peer.namespace === this.#namespace;
    return namespaceMatches && (!candidate.podSelector || labelSelectorMatches(candidate.podSelector, peer.labels));
  }
}

function names(policies: readonly NetworkPolicyObject[]): string {
  return policies.map((policy) => policy.metadata.name).join(', ');
}

function portAllowed(ports: PolicyPort[] | undefined, connection: Connection): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some(({ protocol = 'TCP', port, endPort }) => {
    if (protocol !== connection.protocol) return false;
    if (port === undefined) return true;
    if (typeof port === 'number')
      return endPort === undefined ? port === connection.port : connection.port >= port && connection.port <= endPort;
    const { to } = connection;
    return (
      to.kind === 'pod' &&
      to.ports.some((p) => p.name === port && (p.protocol ?? 'TCP') === protocol && p.containerPort === connection.port)
    );
  });
}
