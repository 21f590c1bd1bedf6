import type { TracerProvider } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { insideRecordedSpan, recordedTracesOnly } from './recorded-traces-only.js';
import { redisStatement } from './redis-statement.js';

/** Redis commands are traced only as children of a sampled trace (see `recordedTracesOnly`). */
class SampledRedisInstrumentation extends IORedisInstrumentation {
  override setTracerProvider(provider: TracerProvider): void {
    super.setTracerProvider(recordedTracesOnly(provider));
  }
}

/** The modules the instrumentations below patch; the ESM loader hook wraps only these. */
export const INSTRUMENTED_MODULES: readonly string[] = ['http', 'https', 'ioredis'];

/**
 * The libraries traced automatically: outgoing HTTP calls and ioredis commands, each only
 * inside an existing trace (the queue's blocking polls and metrics pushes would otherwise
 * start a trace of their own every few seconds). Only these, rather than the
 * auto-instrumentations bundle, to keep start-up cheap and traces free of fs/dns/net noise.
 *
 * Incoming requests get their server span from `serverRequestTracer`, named by the Express
 * route, instead of instrumentation-http's server side and instrumentation-express: both do
 * their work on every request and every Express layer whether or not the request is sampled:
 * with 10% of traces sampled they held the web's JSON route at 0.55× its untraced requests per
 * second, against 0.77× with this setup (bench/src/telemetry-overhead.ts, same run).
 */
export function createInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true, requireParentforOutgoingSpans: true }),
    new SampledRedisInstrumentation({
      requireParentSpan: true,
      // The instrumentation builds the statement before asking for a span; skip it when none will be recorded.
      dbStatementSerializer: (command, args) => (insideRecordedSpan() ? redisStatement(command, args) : ''),
    }),
  ];
}
