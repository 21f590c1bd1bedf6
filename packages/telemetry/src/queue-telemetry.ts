import { createRequire } from 'node:module';
import {
  INVALID_SPANID,
  INVALID_TRACEID,
  ProxyTracer,
  ROOT_CONTEXT,
  TraceFlags,
  trace,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';
import type { ContextManager, Span, Telemetry } from 'bullmq';
import type * as BullMQOtelModule from 'bullmq-otel';
import { samplesRootSpans } from './tracing-settings.js';

// Loaded on first use, so a process with tracing off never pays for it (about 15 ms here).
const require = createRequire(import.meta.url);

/** BullMQ's `telemetry` option, or nothing; spread it into Queue, FlowProducer and Worker options. */
export interface QueueTelemetryOption {
  readonly telemetry?: Telemetry<Context>;
}

const TRACER_NAME = 'flotilla-queue';

// What every worker does on its own, between jobs: the stalled-job timers and each fetch of the
// next job. A trace each would outnumber the traces of real work in the backend (and its bill).
const HOUSEKEEPING = /^(startStalledCheckTimer|moveStalledJobsToWait|getNextJob)\b/;

/**
 * Whether a span started in `context` is sure not to be recorded: its parent belongs to a trace
 * that was not sampled (under the parent-based samplers its children never are either), or it
 * has no parent and the sampler records no root span. BullMQ's span (a job's processing, its
 * completion, a child job's enqueue) is then skipped before any work is done for it: no ids,
 * no sampling decision, no context switch around the job.
 */
function surelyUnrecorded(context: Context, rootsSampled: boolean): boolean {
  const parent = trace.getSpanContext(context);
  if (parent === undefined || isInvalid(parent)) return !rootsSampled;
  return (parent.traceFlags & TraceFlags.SAMPLED) === 0;
}

// The span contexts met here come from the SDK, from a propagator (which drops malformed ones)
// or are the API's all-zero placeholder, so comparing with the placeholder's ids is enough; the
// API's isSpanContextValid checks every hex digit, a measurable share of a job's cost when
// done for each of BullMQ's operations.
function isInvalid(spanContext: SpanContext): boolean {
  return spanContext.traceId === INVALID_TRACEID || spanContext.spanId === INVALID_SPANID;
}

// Leaves the context as it was, so the Redis calls made inside start no trace either.
const UNTRACED: Span<Context> = {
  setSpanOnContext: (context) => context,
  setAttribute: () => {},
  setAttributes: () => {},
  addEvent: () => {},
  recordException: () => {},
  end: () => {},
};

/** True once an SDK has registered a tracer provider with the OpenTelemetry API. */
export function isTracing(): boolean {
  // Until a provider is registered the API hands out ProxyTracer placeholders.
  return !(trace.getTracer(TRACER_NAME) instanceof ProxyTracer);
}

/**
 * The option that makes BullMQ trace a queue (through the official bullmq-otel adapter):
 * adding a job opens a producer span and stores its context in the job's options — never in
 * its data, which the contracts validate — and the worker opens the job's processing span as
 * a child of it, so an HTTP request, the job it enqueued and a flow's children share one
 * trace across processes. Empty while tracing is off: BullMQ then stores no trace context
 * with a job and starts no spans.
 */
export function queueTelemetry(env: Readonly<Record<string, string | undefined>> = process.env): QueueTelemetryOption {
  if (!isTracing()) return {};
  const rootsSampled = samplesRootSpans(env);
  const { BullMQOtel } = require('bullmq-otel') as typeof BullMQOtelModule;
  const otel = new BullMQOtel({ tracerName: TRACER_NAME });
  const contextManager: ContextManager<Context> = {
    // Entering the context that is already active changes nothing; skipping it saves an
    // AsyncLocalStorage run on every BullMQ operation of an unsampled job.
    with: (context, fn) =>
      context === otel.contextManager.active()
        ? (fn() as ReturnType<typeof fn>)
        : otel.contextManager.with(context, fn),
    active: () => otel.contextManager.active(),
    // BullMQ runs its timers in this context, so they never inherit the span that started the worker.
    root: () => ROOT_CONTEXT,
    getMetadata: (context) => otel.contextManager.getMetadata(context),
    fromMetadata: (active, metadata) => otel.contextManager.fromMetadata(active, metadata),
  };
  return {
    telemetry: {
      tracer: {
        startSpan: (name, options, context?: Context) =>
          HOUSEKEEPING.test(name) || surelyUnrecorded(context ?? otel.contextManager.active(), rootsSampled)
            ? UNTRACED
            : otel.tracer.startSpan(name, options, context),
      },
      contextManager,
    },
  };
}
