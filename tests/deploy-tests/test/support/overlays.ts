import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { renderObjects, type K8sObject, type KustomizeRenderer } from './kustomize.js';
import { repoPath } from './paths.js';

/** A kustomization to render: a shipped overlay, or base + components composed by the test. */
export interface OverlayCase {
  readonly name: string;
  /** The overlay folder, for shipped overlays. */
  readonly overlay?: string;
  /** For composed cases: the namespace and the components put on top of k8s/base. */
  readonly compose?: { readonly namespace: string; readonly components: readonly string[] };
}

/** Every overlay the repository ships, plus the optional components they do not use. */
export const OVERLAY_CASES: readonly OverlayCase[] = [
  { name: 'dev', overlay: 'dev' },
  { name: 'prod', overlay: 'prod' },
  { name: 'openshift', overlay: 'openshift' },
  // KEDA reading Redis instead of Prometheus: a component no overlay uses by default, composed
  // the way an overlay would be (in a namespace of its own, which denies by default).
  { name: 'base+keda-redis', compose: { namespace: 'flotilla', components: ['namespace-default-deny', 'keda-redis'] } },
];

/** Renders a case; composed cases get a temporary kustomization outside the repository. */
export async function renderCase(renderer: KustomizeRenderer, overlayCase: OverlayCase): Promise<K8sObject[]> {
  if (overlayCase.overlay) return await renderObjects(renderer, repoPath('k8s', 'overlays', overlayCase.overlay));
  const compose = overlayCase.compose;
  if (!compose) throw new Error(`${overlayCase.name}: neither overlay nor compose`);
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-kustomize-'));
  try {
    const kustomization = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: compose.namespace,
      resources: [relative(dir, repoPath('k8s', 'base'))],
      components: compose.components.map((component) => relative(dir, repoPath('k8s', 'components', component))),
      images: [{ name: 'flotilla', newName: 'ghcr.io/example/flotilla', newTag: '0.1.0' }],
    };
    await writeFile(join(dir, 'kustomization.yaml'), stringify(kustomization));
    return await renderObjects(renderer, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
