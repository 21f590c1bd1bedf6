import type { IncomingMessage } from 'node:http';

interface RoutedRequest extends IncomingMessage {
  readonly route?: { readonly path?: unknown };
  readonly baseUrl?: string;
}

/**
 * The template of the Express route that answered a request (`/api/jobs/:id`, never the raw
 * path), or `unmatched` for requests no route took (404s). Read it once the response is done.
 */
export function expressRoute(req: IncomingMessage): string {
  const { route, baseUrl } = req as RoutedRequest;
  return typeof route?.path === 'string' ? `${baseUrl ?? ''}${route.path}` : 'unmatched';
}
