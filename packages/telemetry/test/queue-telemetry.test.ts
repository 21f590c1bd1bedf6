import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { FlowProducer, Job, Queue, Worker } from 'bullmq';
import { uniqueQueuePrefix, waitFor } from '@flotilla/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isTracing, queueTelemetry, traceLogFields } from '../src/index.js';
import { samplesRootSpans } from '../src/tracing-settings.js';

function connection(): { host: string; port: number } {
  const url = new URL(inject('redisUrl'));
  return { host: url.hostname, port: Number(url.port) };
}

describe('queueTelemetry while no SDK is registered', () => {
  it('is empty, so BullMQ stores no trace context and starts no spans', () => {
    expect(isTracing()).toBe(false);
    expect(queueTelemetry()).toEqual({});
  });
});

describe('queueTelemetry with an SDK registered', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const prefix = uniqueQueuePrefix();
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(() => {
    // What the Node SDK registers at start-up, minus the exporters.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });

  afterAll(async () => {
    for (const closer of closers.reverse()) await closer.close();
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it('continues the enqueuing trace in the worker, for plain jobs and flow children, without touching job data', async () => {
    expect(isTracing()).toBe(true);
    const { telemetry } = queueTelemetry();
    expect(telemetry).toBeDefined();
    const queue = new Queue('q', { connection: connection(), prefix, ...queueTelemetry() });
    const flows = new FlowProducer({ connection: connection(), prefix, ...queueTelemetry() });
    const seen = new Map<string, ReturnType<typeof traceLogFields>>();
    const worker = new Worker(
      'q',
      async (job) => {
        seen.set(job.id ?? '', traceLogFields());
        return await Promise.resolve(job.data as unknown);
      },
      { connection: connection(), prefix, ...queueTelemetry() },
    );
    closers.push(queue, flows, worker);

    const tracer = trace.getTracer('test');
    const request = tracer.startSpan('request', { kind: SpanKind.SERVER });
    const requestContext = trace.setSpan(context.active(), request);
    const job = await context.with(requestContext, () => queue.add('plain', { n: 1 }, { jobId: 'plain-1' }));
    await context.with(requestContext, () =>
      flows.add({
        name: 'parent',
        queueName: 'q',
        data: { n: 2 },
        opts: { jobId: 'parent-1' },
        children: [{ name: 'child', queueName: 'q', data: { n: 3 }, opts: { jobId: 'child-1' } }],
      }),
    );
    request.end();
    await waitFor(() => seen.size === 3, { timeoutMs: 10_000, description: 'three jobs processed' });

    const traceId = request.spanContext().traceId;
    for (const id of ['plain-1', 'parent-1', 'child-1']) expect(seen.get(id)?.trace_id, id).toBe(traceId);
    const spans = exporter.getFinishedSpans();
    const processing = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(processing.map((s) => s.name)).toEqual(['process q', 'process q', 'process q']);
    for (const span of processing) expect(span.spanContext().traceId).toBe(traceId);
    // The context travels in the job's options; the data stays what the producer gave.
    const stored = await Job.fromId(queue, job.id ?? '');
    expect(stored?.data).toEqual({ n: 1 });
    expect(JSON.stringify(stored?.opts)).toContain('traceparent');
  });

  it("records no spans for the worker's own timers and fetches", () => {
    const names = exporter.getFinishedSpans().map((s) => s.name);
    expect(names.filter((name) => /stalled|getNextJob/i.test(name))).toEqual([]);
    const { telemetry } = queueTelemetry();
    const span = telemetry?.tracer.startSpan('moveStalledJobsToWait q');
    const before = context.active();
    expect(span?.setSpanOnContext(before)).toBe(before);
  });

  it('skips every span of a job whose enqueuing trace was not sampled, and still carries that trace on', async () => {
    const queue = new Queue('unsampled', { connection: connection(), prefix, ...queueTelemetry() });
    let processedIn: ReturnType<typeof traceLogFields> | undefined;
    const worker = new Worker(
      'unsampled',
      async () => {
        processedIn = traceLogFields();
        return await Promise.resolve(null);
      },
      { connection: connection(), prefix, ...queueTelemetry() },
    );
    closers.push(queue, worker);
    exporter.reset();

    // What the web puts in context for a request the sampler dropped.
    const unsampled = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    const job = await context.with(trace.setSpan(ROOT_CONTEXT, unsampled), () => queue.add('dropped', { n: 1 }));
    await waitFor(async () => (await job.getState()) === 'completed', {
      timeoutMs: 10_000,
      description: 'the job to complete',
    });

    expect(exporter.getFinishedSpans().filter((s) => s.name.endsWith(' unsampled'))).toEqual([]);
    expect(JSON.stringify((await Job.fromId(queue, job.id ?? ''))?.opts)).toContain(
      '0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
    );
    expect(processedIn?.trace_id).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('starts no span for a job without a trace when the sampler records no root span, and does when it may', () => {
    const sampledParent = trace.setSpan(
      ROOT_CONTEXT,
      trace.wrapSpanContext({
        traceId: '1af7651916cd43dd8448eb211c80319c',
        spanId: 'c7ad6b7169203331',
        traceFlags: TraceFlags.SAMPLED,
      }),
    );
    const isSkipped = (env: Record<string, string>, parent = ROOT_CONTEXT): boolean => {
      const span = queueTelemetry(env).telemetry?.tracer.startSpan('process q', { kind: SpanKind.CONSUMER }, parent);
      span?.end();
      return span?.setSpanOnContext(parent) === parent;
    };
    expect(isSkipped({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' })).toBe(true);
    expect(isSkipped({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' })).toBe(true);
    // A trace the web sampled is still continued under parentbased_always_off.
    expect(isSkipped({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, sampledParent)).toBe(false);
    expect(isSkipped({})).toBe(false);
    expect(isSkipped({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' })).toBe(false);
    // The API's all-zero placeholder is no parent: the job is a root, as the SDK treats it.
    const placeholder = trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
    expect(isSkipped({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, placeholder)).toBe(true);
    expect(
      isSkipped({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' }, placeholder),
    ).toBe(false);
  });
});

describe('samplesRootSpans', () => {
  it.each([
    [{}, true],
    [{ OTEL_TRACES_SAMPLER: 'always_on' }, true],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, false],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, false],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, false],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }, true],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }, true],
  ])('%j → %s', (env, expected) => {
    expect(samplesRootSpans(env)).toBe(expected);
  });
});
