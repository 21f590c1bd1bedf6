import { api, seen } from './api.js';

/** An OpenAPI document as the coverage check reads it. */
export interface OpenApiPaths {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
}

/**
 * The (method, route template, status) triples a test file saw that the server's own OpenAPI
 * document does not describe, and that document.
 */
export async function undocumentedResponses(
  baseUrl: string,
  ignore: (path: string, status: number) => boolean = () => false,
): Promise<{ undocumented: string[]; document: OpenApiPaths }> {
  const document = (await api(baseUrl, 'GET', '/openapi.json')).body as OpenApiPaths;
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const undocumented: string[] = [];
  for (const { method, path, status } of seen) {
    if (ignore(path, status)) continue;
    // Concrete paths (/api/jobs/fib) take precedence over templated ones, as OpenAPI specifies.
    const match = templates.find((t) => t.template === path) ?? templates.find((t) => t.pattern.test(path));
    const operation = match ? document.paths[match.template]?.[method.toLowerCase()] : undefined;
    if (!operation || !(String(status) in operation.responses))
      undocumented.push(`${method} ${match?.template ?? path} ${status}`);
  }
  return { undocumented: [...new Set(undocumented)], document };
}
