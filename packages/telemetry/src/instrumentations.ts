import type { TracerProvider } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation, type IORedisInstrumentationConfig } from '@opentelemetry/instrumentation-ioredis';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { insideRecordedSpan, recordedTracesOnly } from './recorded-traces-only.js';
import { redisStatement } from './redis-statement.js';

type Wrap = IORedisInstrumentation['_wrap'];

/** Redis commands are traced only as children of a sampled trace (see `recordedTracesOnly`). */
class SampledRedisInstrumentation extends IORedisInstrumentation {
  override setTracerProvider(provider: TracerProvider): void {
    super.setTracerProvider(recordedTracesOnly(provider));
  }

  // The instrumentation's per-command work (attributes, statement, a span, wrapped callbacks)
  // runs whenever any span is active, recorded or not; a command outside a recorded span goes
  // straight to ioredis instead, which is what almost every command of a sampled-down service is.
  constructor(config: IORedisInstrumentationConfig) {
    super(config);
    const wrap: Wrap = this._wrap;
    this._wrap = (nodule, name, wrapper) =>
      wrap(nodule, name, (original, field) => {
        const traced = wrapper(original, field);
        if (field !== 'sendCommand' || typeof original !== 'function' || typeof traced !== 'function') return traced;
        return function (this: unknown, ...args: unknown[]): unknown {
          return insideRecordedSpan() ? traced.apply(this, args) : original.apply(this, args);
        } as typeof traced;
      });
  }
}

/** The modules the instrumentations below patch; the ESM loader hook wraps only these. */
export const INSTRUMENTED_MODULES: readonly string[] = ['http', 'https', 'ioredis'];

/**
 * The libraries traced automatically: outgoing HTTP calls (node:http, patched; undici and
 * fetch(), followed through their diagnostics channels) and ioredis commands, each only inside
 * an existing trace (the queue's blocking polls and metrics pushes would otherwise start a
 * trace of their own every few seconds). Only these, rather than the
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
    new UndiciInstrumentation({ requireParentforSpans: true }),
    new SampledRedisInstrumentation({
      requireParentSpan: true,
      dbStatementSerializer: redisStatement,
    }),
  ];
}
