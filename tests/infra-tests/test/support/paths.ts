import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root (this file is tests/infra-tests/test/support/paths.ts). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** The infra/ folder under test. */
export const infraDir = join(repoRoot, 'infra');

/** Absolute path of a file under infra/, e.g. `infraPath('prometheus', 'alerts.yml')`. */
export function infraPath(...parts: string[]): string {
  return join(infraDir, ...parts);
}

/** Parses a YAML file under infra/ (one document); a syntax error fails the caller. */
export async function readInfraYaml(...parts: string[]): Promise<unknown> {
  return parse(await readFile(infraPath(...parts), 'utf8'), { strict: true, uniqueKeys: true }) as unknown;
}

/** Parses every document of a multi-document YAML file under infra/. */
export async function readInfraYamlDocuments(...parts: string[]): Promise<unknown[]> {
  const documents = parseAllDocuments(await readFile(infraPath(...parts), 'utf8'), { strict: true, uniqueKeys: true });
  return documents.map((document) => {
    if (document.errors.length > 0)
      throw new Error(`${parts.join('/')}: ${document.errors.map((e) => e.message).join('; ')}`);
    return document.toJS() as unknown;
  });
}

/** Parses a JSON file under infra/. */
export async function readInfraJson(...parts: string[]): Promise<unknown> {
  return JSON.parse(await readFile(infraPath(...parts), 'utf8')) as unknown;
}
