import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { SpanKind, SpanStatusCode, context, propagation, trace, type SpanContext } from '@opentelemetry/api';
import { waitFor } from '@flotilla/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serverRequestTracer } from '../src/index.js';
import { recordedTracesOnly } from '../src/recorded-traces-only.js';

const exporter = new InMemorySpanExporter();
// Root requests are sampled; a caller's decision (the traceparent flags) is followed.
const provider = new TracerProvider({
  sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

let server: Server;
let url: string;
// What the handler saw as the active span while it ran, per request path.
const seenInside = new Map<string, SpanContext | undefined>();
// Responses closed so far; the tracer's own 'close' listener, which ends the span, runs first.
let closed = 0;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const traceRequest = serverRequestTracer();
  server = createServer((req, res) => {
    const route = (req.url ?? '/').startsWith('/things/') ? '/things/:id' : 'unmatched';
    traceRequest(
      req,
      res,
      () => route,
      () => {
        seenInside.set(req.url ?? '', trace.getActiveSpan()?.spanContext());
        res.once('close', () => closed++);
        res.statusCode = req.url === '/things/broken' ? 500 : 200;
        res.end('ok');
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

beforeEach(() => exporter.reset());

async function get(path: string, headers: Record<string, string> = {}): Promise<void> {
  const before = closed;
  const response = await fetch(url + path, { headers });
  await response.text();
  await waitFor(() => closed > before, { description: `the response to ${path} closed` });
}

describe('serverRequestTracer', () => {
  it('records one SERVER span per request, named by the route template once it is known', async () => {
    await get('/things/42?secret=x', { 'user-agent': 'flotilla-test' });
    const [span, ...others] = exporter.getFinishedSpans();
    expect(others).toEqual([]);
    expect(span?.name).toBe('GET /things/:id');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/things/:id',
      'http.response.status_code': 200,
      'url.path': '/things/42',
      'user_agent.original': 'flotilla-test',
    });
    // The query string can carry tokens; it is not recorded.
    expect(JSON.stringify(span?.attributes)).not.toContain('secret');
    expect(seenInside.get('/things/42?secret=x')?.spanId).toBe(span?.spanContext().spanId);
  });

  it("continues the caller's trace from its traceparent header", async () => {
    await get('/things/1', { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    const [span] = exporter.getFinishedSpans();
    expect(span?.spanContext().traceId).toBe(TRACE_ID);
    expect(span?.parentSpanContext?.spanId).toBe(PARENT_ID);
  });

  it('marks 5xx answers as errors', async () => {
    await get('/things/broken');
    const [span] = exporter.getFinishedSpans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('500');
  });

  it('records nothing for a caller that did not sample, yet hands its decision on to the handler', async () => {
    await get('/things/7', { traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` });
    expect(exporter.getFinishedSpans()).toEqual([]);
    // Jobs enqueued here carry the trace id with the sampled flag off, so the worker drops them too.
    expect(seenInside.get('/things/7')).toMatchObject({ traceId: TRACE_ID, traceFlags: 0 });
  });

  it('does not trace health probes and scrapes', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics?x=1']) await get(path);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(seenInside.get('/healthz')).toBeUndefined();
  });
});

describe('recordedTracesOnly', () => {
  const tracer = recordedTracesOnly(provider).getTracer('client-library');
  const sampled = provider.getTracer('app').startSpan('sampled request');
  const unsampledContext = trace.setSpanContext(context.active(), {
    traceId: TRACE_ID,
    spanId: PARENT_ID,
    traceFlags: 0,
  });

  it('starts a recorded child inside a sampled trace', () => {
    const child = tracer.startSpan('GET', {}, trace.setSpan(context.active(), sampled));
    expect(child.isRecording()).toBe(true);
    child.end();
    expect(exporter.getFinishedSpans().map((s) => s.parentSpanContext?.spanId)).toEqual([sampled.spanContext().spanId]);
  });

  it('starts nothing outside a trace or inside one that is not sampled', () => {
    for (const ctx of [context.active(), unsampledContext]) {
      const span = tracer.startSpan('GET', {}, ctx);
      expect(span.isRecording()).toBe(false);
      span.end();
    }
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
