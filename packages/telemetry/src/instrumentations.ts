import type { IncomingMessage } from 'node:http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { redisStatement } from './redis-statement.js';

// Platforms and Prometheus call these every few seconds; a trace each would bury the real ones.
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function isProbe(request: IncomingMessage): boolean {
  return UNTRACED_PATHS.has((request.url ?? '/').split('?')[0] ?? '/');
}

/** The modules the instrumentations below patch; the ESM loader hook wraps only these. */
export const INSTRUMENTED_MODULES: readonly string[] = ['http', 'https', 'express', 'ioredis'];

/**
 * The libraries traced automatically: HTTP (server and client), Express routing and ioredis.
 * Only these three, rather than the auto-instrumentations bundle, to keep start-up cheap and
 * traces free of fs/dns/net noise. Outgoing HTTP calls and Redis commands are traced only
 * inside an existing trace: the queue's blocking polls and metrics pushes would otherwise
 * start a trace of their own every few seconds.
 */
export function createInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: isProbe,
      requireParentforOutgoingSpans: true,
    }),
    // Middleware (body parsing, headers, …) and every router a request passes on its way
    // would add a span each to every request; the handler's span names the route.
    new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
    new IORedisInstrumentation({
      requireParentSpan: true,
      dbStatementSerializer: (command, args) => redisStatement(command, args),
    }),
  ];
}
