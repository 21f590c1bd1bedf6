import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root (this file is tests/deploy-tests/test/support/paths.ts). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** Absolute path of a file in the repository, e.g. `repoPath('k8s', 'base')`. */
export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

/** A repository file as text. */
export async function readRepoText(...parts: string[]): Promise<string> {
  return await readFile(repoPath(...parts), 'utf8');
}

/** Parses one YAML document strictly (duplicate keys are an error, as they are for kubectl). */
export function parseYaml(text: string, source: string): unknown {
  try {
    return parse(text, { strict: true, uniqueKeys: true }) as unknown;
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`, { cause: error });
  }
}

/** Parses every document of a multi-document YAML text, skipping empty ones. */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  return parseAllDocuments(text, { strict: true, uniqueKeys: true }).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors.map((e) => e.message).join('; ')}`);
    const value = document.toJS() as unknown;
    return value === null || value === undefined ? [] : [value];
  });
}

/** Parses a YAML file of the repository (one document). */
export async function readRepoYaml(...parts: string[]): Promise<unknown> {
  return parseYaml(await readRepoText(...parts), parts.join('/'));
}

/** Parses a JSON file of the repository. */
export async function readRepoJson(...parts: string[]): Promise<unknown> {
  return JSON.parse(await readRepoText(...parts)) as unknown;
}
