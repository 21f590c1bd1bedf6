import type { ContainerSecurityContext, PodSpecForSecurity } from './pod-security.js';
import { findObject, type K8sObject } from './kustomize.js';

/** The HTTP GET of a probe or lifecycle hook. */
interface HttpGetAction {
  path: string;
  port: number | string;
  host?: string;
}

/** An HTTP probe as the manifests write it. */
export interface HttpProbe {
  httpGet?: HttpGetAction;
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}

/** The container fields the tests read. */
export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; hostPort?: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef } }[];
  envFrom?: { configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] }; httpGet?: HttpGetAction } };
  securityContext?: ContainerSecurityContext;
}

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/** A pod template as the manifests write it. */
export interface PodTemplate {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Omit<PodSpecForSecurity, 'containers'> & {
    containers: ContainerSpec[];
    terminationGracePeriodSeconds?: number;
  };
}

/** A Deployment as the manifests write it. */
export interface DeploymentObject extends K8sObject {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: PodTemplate };
}

/** Secrets an overlay expects the operator to create, with example values for the config check. */
export const EXTERNAL_SECRETS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'flotilla-secrets': { REDIS_URL: 'rediss://:example-password@redis.example.internal:6380' },
};

function configMapData(objects: readonly K8sObject[], name: string): Record<string, string> | undefined {
  const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as
    (K8sObject & { data?: Record<string, string> }) | undefined;
  return map ? (map.data ?? {}) : undefined;
}

function secretData(objects: readonly K8sObject[], name: string): Record<string, string> | undefined {
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name) as
    (K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> }) | undefined;
  if (!secret) return EXTERNAL_SECRETS[name] ? { ...EXTERNAL_SECRETS[name] } : undefined;
  const decoded = Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
  return { ...decoded, ...secret.stringData };
}

/**
 * The environment a container starts with: envFrom ConfigMaps and Secrets, then env (later
 * wins, as in Kubernetes). Secrets that are not in the render must be documented external ones;
 * their example values stand in. Throws on a reference to anything else.
 */
export function containerEnv(container: ContainerSpec, objects: readonly K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const data = configMapData(objects, source.configMapRef.name);
      if (!data && !source.configMapRef.optional)
        throw new Error(`${container.name}: envFrom ConfigMap ${source.configMapRef.name} does not exist`);
      Object.assign(env, data);
    }
    if (source.secretRef) {
      const data = secretData(objects, source.secretRef.name);
      if (!data && !source.secretRef.optional)
        throw new Error(
          `${container.name}: envFrom Secret ${source.secretRef.name} is neither rendered nor documented`,
        );
      Object.assign(env, data);
    }
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    const ref = variable.valueFrom?.configMapKeyRef ?? variable.valueFrom?.secretKeyRef;
    if (!ref) continue;
    const data = variable.valueFrom?.configMapKeyRef ? configMapData(objects, ref.name) : secretData(objects, ref.name);
    const value = data?.[ref.key];
    if (value === undefined && !ref.optional)
      throw new Error(`${container.name}: ${variable.name} refers to ${ref.name}/${ref.key}, which does not exist`);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

/**
 * The environment a container's process starts with in a cluster: its own variables, plus the
 * one Kubernetes sets in every pod, by which the services detect the platform.
 */
export function podEnv(container: ContainerSpec, objects: readonly K8sObject[]): Record<string, string> {
  return { ...containerEnv(container, objects), KUBERNETES_SERVICE_HOST: '10.0.0.1' };
}

/** The one container of a Deployment's pods. */
export function onlyContainer(deployment: DeploymentObject): ContainerSpec {
  const [container, ...others] = deployment.spec.template.spec.containers;
  if (!container || others.length > 0) throw new Error(`${deployment.metadata.name} should run exactly one container`);
  return container;
}

/** The Deployment of a service (`flotilla-web` / `flotilla-worker`). */
export function serviceDeployment(objects: readonly K8sObject[], service: 'web' | 'worker'): DeploymentObject {
  return findObject<DeploymentObject>(objects, 'Deployment', `flotilla-${service}`);
}

/** Whether a label selector's matchLabels all hold for these labels. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** The pod templates of every workload in a render, with where they come from. */
export function podTemplates(objects: readonly K8sObject[]): { owner: string; template: PodTemplate }[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet' || o.kind === 'Job')
    .map((o) => ({ owner: `${o.kind}/${o.metadata.name}`, template: (o as DeploymentObject).spec.template }));
}

/** A port reference (number or name) resolved against a container's ports. */
export function resolvePort(container: ContainerSpec, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}
