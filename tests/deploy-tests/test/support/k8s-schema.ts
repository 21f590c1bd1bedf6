import { Ajv } from 'ajv';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1';
import {
  PodMonitor,
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { routeSchema } from './route-schema.js';

// Offline schema validation in the spirit of `kubeconform -strict`. The Kubernetes OpenAPI
// schemas (a recent release: fields up to v1.34 such as env fileKeyRef are present) and the CRD
// schemas of KEDA, the Prometheus Operator and Knative come precompiled in the
// kubernetes-models packages; the OpenShift Route, which no package ships, has a schema of its
// own (route-schema.ts).
//
// Those validators check types, formats (quantities, int-or-string), enums and required fields
// but, like the OpenAPI schemas, let unknown fields through, which `kubectl apply` (strict field
// validation) rejects and kubeconform -strict reports. So each object is validated through a
// proxy that records which fields the validator looked at: a field of an object whose schema
// lists properties that the validator never read is unknown. Objects the validator reads
// nothing of (free-form maps and preserve-unknown-fields) are not judged.

/** What the models' generated classes share: validate() checks `this`. */
interface ModelClass {
  prototype: { validate(this: unknown): void };
}

/** apiVersion/kind → model. An object of any other kind fails: there is no schema to check it against. */
const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'serving.knative.dev/v1/Service': KnativeService,
};

const ajv = new Ajv({ allErrors: true, strict: true });
const validateRoute = ajv.compile(routeSchema);

/** What the validator read of one object (or array) of the document. */
interface Reads {
  readonly value: object;
  readonly keys: Set<string>;
  enumerated: boolean;
}

function track(value: unknown, path: string, reads: Map<string, Reads>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const entry: Reads = { value, keys: new Set(), enumerated: false };
  reads.set(path, entry);
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return child;
      entry.keys.add(key);
      return Object.hasOwn(target, key) ? track(child, `${path}/${key}`, reads) : child;
    },
    has(target, key) {
      if (typeof key === 'string') entry.keys.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      entry.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function unknownFields(reads: Map<string, Reads>): string[] {
  const unknown: string[] = [];
  for (const [path, entry] of reads) {
    if (Array.isArray(entry.value) || entry.enumerated || entry.keys.size === 0) continue;
    for (const key of Object.keys(entry.value)) if (!entry.keys.has(key)) unknown.push(`${path}/${key}`);
  }
  return unknown;
}

/** Whether an object's apiVersion and kind have a schema here. */
export function hasSchema(object: { apiVersion?: unknown; kind?: unknown }): boolean {
  return (
    `${String(object.apiVersion)}/${String(object.kind)}` in MODELS ||
    (object.apiVersion === 'route.openshift.io/v1' && object.kind === 'Route')
  );
}

/**
 * Problems of one object against its schema: type and format errors, missing required fields,
 * unknown fields, or a kind that has no schema. Empty when the object is valid.
 */
export function schemaProblems(object: unknown): string[] {
  if (object === null || typeof object !== 'object') return ['not an object'];
  const { apiVersion, kind } = object as { apiVersion?: unknown; kind?: unknown };
  const id = `${String(apiVersion)}/${String(kind)}`;
  const copy = structuredClone(object);
  if (apiVersion === 'route.openshift.io/v1' && kind === 'Route') {
    if (validateRoute(copy)) return [];
    return (validateRoute.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  }
  const model = MODELS[id];
  if (!model) return [`no schema for ${id}: add its model to support/k8s-schema.ts`];
  const reads = new Map<string, Reads>();
  const problems: string[] = [];
  try {
    model.prototype.validate.call(track(copy, '', reads));
  } catch (error) {
    problems.push((error as Error).message);
  }
  return [...problems, ...unknownFields(reads).map((path) => `${path} is not a field of ${id}`)];
}
