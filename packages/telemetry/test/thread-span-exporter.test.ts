import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode, TraceState, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// The thread's entry is compiled JavaScript, so the test drives the built module.
import { ThreadSpanExporter } from '../dist/thread-span-exporter.js';

const DIST_MODULE = fileURLToPath(new URL('../dist/thread-span-exporter.js', import.meta.url));

interface Received {
  readonly contentType: string;
  readonly body: Buffer;
}

/** An OTLP/HTTP endpoint that keeps every export and answers with `status`. */
class Receiver {
  readonly received: Received[] = [];
  status = 200;
  readonly #server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.received.push({ contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.writeHead(this.status, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
  }

  get tracesUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1/traces`;
  }

  async stop(): Promise<void> {
    this.#server.close();
    await once(this.#server, 'close');
  }
}

/** Real SDK spans: a server span with attributes, an event, a link and a trace state, and its child. */
async function recordSpans(): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'thread-test', 'service.version': '1.2.3' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('thread-test-scope', '0.0.1');
  const linked = trace.wrapSpanContext({
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    traceFlags: 1,
    traceState: new TraceState('vendor=linked'),
  });
  const parentContext = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: 'c'.repeat(32),
    spanId: 'd'.repeat(16),
    traceFlags: 1,
    isRemote: true,
    traceState: new TraceState('vendor=value'),
  });
  const server = tracer.startSpan(
    'GET /things/:id',
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.route': '/things/:id', 'http.response.status_code': 503, ok: false, tags: ['a', 'b'] },
      links: [{ context: linked.spanContext(), attributes: { why: 'retry of' } }],
    },
    parentContext,
  );
  server.addEvent('cache miss', { key: 'things:1' });
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream down' });
  const child = tracer.startSpan('hgetall', { kind: SpanKind.CLIENT }, trace.setSpan(parentContext, server));
  child.end();
  server.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  expect(spans).toHaveLength(2);
  return spans;
}

function exported(exporter: ThreadSpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: JsonKeyValue[];
  events: { name: string; attributes: JsonKeyValue[] }[];
  links: { traceId: string; spanId: string; traceState?: string; attributes: JsonKeyValue[] }[];
  status: { code: number; message?: string };
}
interface JsonExport {
  resourceSpans: {
    resource: { attributes: JsonKeyValue[] };
    scopeSpans: { scope: { name: string; version?: string }; spans: JsonSpan[] }[];
  }[];
}

const keyValues = (list: JsonKeyValue[]) => Object.fromEntries(list.map(({ key, value }) => [key, value]));

describe('ThreadSpanExporter', () => {
  const receiver = new Receiver();
  const exporters: ThreadSpanExporter[] = [];
  const previousEndpoint = process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];

  // The thread reads the exporter's settings from a copy of the environment made when it starts.
  function startExporter(protocol: 'http/json' | 'http/protobuf'): ThreadSpanExporter {
    process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] = receiver.tracesUrl;
    const exporter = new ThreadSpanExporter({ protocol });
    exporters.push(exporter);
    return exporter;
  }

  beforeAll(() => receiver.start());
  afterEach(async () => {
    await Promise.all(exporters.splice(0).map((exporter) => exporter.shutdown()));
    receiver.received.length = 0;
    receiver.status = 200;
  });
  afterAll(async () => {
    if (previousEndpoint === undefined) delete process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
    else process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] = previousEndpoint;
    await receiver.stop();
  });

  it('exports every field of the spans it is handed, as the OTLP exporter on the main thread would', async () => {
    const spans = await recordSpans();
    const [child, server] = spans;
    expect(await exported(startExporter('http/json'), spans)).toEqual({ code: ExportResultCode.SUCCESS });

    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.contentType).toBe('application/json');
    const body = JSON.parse(receiver.received[0]?.body.toString('utf8') ?? '') as JsonExport;
    expect(body.resourceSpans).toHaveLength(1);
    const [resourceSpans] = body.resourceSpans;
    expect(keyValues(resourceSpans?.resource.attributes ?? [])).toMatchObject({
      'service.name': { stringValue: 'thread-test' },
      'service.version': { stringValue: '1.2.3' },
    });
    // Spans of one scope stay grouped under it.
    expect(
      resourceSpans?.scopeSpans.map((scopeSpans) => [scopeSpans.scope, scopeSpans.spans.map((span) => span.name)]),
    ).toEqual([[{ name: 'thread-test-scope', version: '0.0.1' }, ['hgetall', 'GET /things/:id']]]);

    const [sentChild, sentServer] = resourceSpans?.scopeSpans[0]?.spans ?? [];
    expect(sentServer).toMatchObject({
      traceId: 'c'.repeat(32),
      spanId: server?.spanContext().spanId,
      parentSpanId: 'd'.repeat(16),
      traceState: 'vendor=value',
      name: 'GET /things/:id',
      kind: 2,
      status: { code: 2, message: 'upstream down' },
      events: [{ name: 'cache miss', attributes: [{ key: 'key', value: { stringValue: 'things:1' } }] }],
      links: [
        {
          traceId: 'a'.repeat(32),
          spanId: 'b'.repeat(16),
          traceState: 'vendor=linked',
          attributes: [{ key: 'why', value: { stringValue: 'retry of' } }],
        },
      ],
    });
    expect(keyValues(sentServer?.attributes ?? [])).toEqual({
      'http.route': { stringValue: '/things/:id' },
      'http.response.status_code': { intValue: 503 },
      ok: { boolValue: false },
      tags: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } },
    });
    const nanos = ([seconds, nanoseconds]: readonly [number, number]) =>
      String(BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds));
    expect([sentServer?.startTimeUnixNano, sentServer?.endTimeUnixNano]).toEqual([
      nanos(server?.startTime ?? [0, 0]),
      nanos(server?.endTime ?? [0, 0]),
    ]);
    expect(sentChild).toMatchObject({
      traceId: 'c'.repeat(32),
      spanId: child?.spanContext().spanId,
      parentSpanId: server?.spanContext().spanId,
      kind: 3,
    });
  });

  it('speaks the protocol it is started with', async () => {
    const spans = await recordSpans();
    expect(await exported(startExporter('http/protobuf'), spans)).toEqual({ code: ExportResultCode.SUCCESS });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.contentType).toBe('application/x-protobuf');
    // Protobuf carries ids as raw bytes and names as UTF-8.
    const body = receiver.received[0]?.body ?? Buffer.alloc(0);
    expect(body.includes(Buffer.from('c'.repeat(32), 'hex'))).toBe(true);
    expect(body.includes(Buffer.from('GET /things/:id'))).toBe(true);
  });

  it('reports a batch the collector refuses as failed, with the reason, and goes on exporting', async () => {
    const exporter = startExporter('http/json');
    receiver.status = 400;
    const refused = await exported(exporter, await recordSpans());
    expect(refused.code).toBe(ExportResultCode.FAILED);
    expect(refused.error?.message).toMatch(/bad request/i);

    receiver.status = 200;
    expect(await exported(exporter, await recordSpans())).toEqual({ code: ExportResultCode.SUCCESS });
    expect(receiver.received).toHaveLength(2);
  });

  it('reports a batch it cannot copy to the thread as failed, and goes on exporting', async () => {
    const exporter = startExporter('http/json');
    const [span] = await recordSpans();
    if (!span) throw new Error('no span recorded');
    // The SDK only records primitives and arrays; a hand-made span can hold anything.
    const uncloneable = {
      ...span,
      spanContext: () => span.spanContext(),
      attributes: { callback: (() => 1) as unknown as string },
    };
    const result = await exported(exporter, [uncloneable]);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/could not be handed to the export thread/);

    expect(await exported(exporter, await recordSpans())).toEqual({ code: ExportResultCode.SUCCESS });
    expect(receiver.received).toHaveLength(1);
  });

  it('answers exports after shutdown with a failure instead of hanging', async () => {
    const exporter = startExporter('http/json');
    await exporter.shutdown();
    const result = await exported(exporter, await recordSpans());
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toMatch(/shut down/);
    expect(receiver.received).toHaveLength(0);
  });

  // In a process of its own, to see what keeps it alive and which threads it starts.
  async function runScript(body: string): Promise<string> {
    const script = `import { Worker } from 'node:worker_threads'; import { ThreadSpanExporter } from ${JSON.stringify(DIST_MODULE)}; ${body}`;
    // execFile kills the child and rejects if it is still running at the timeout.
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 20_000,
      env: { ...process.env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl },
    });
    return stdout.trim();
  }

  it('keeps the process alive while an export is open, and not a moment longer', async () => {
    const output = await runScript(
      `new ThreadSpanExporter({ protocol: 'http/json' }).export([], (result) => console.log('exported', result.code));`,
    );
    expect(output).toBe(`exported ${ExportResultCode.SUCCESS}`);
  });

  it('starts no thread until it has spans to export', async () => {
    // Worker thread ids count up from 1 in every process: a first worker started after the
    // exporter has flushed and shut down gets 1 only if the exporter started none.
    const output = await runScript(
      `const exporter = new ThreadSpanExporter({ protocol: 'http/json' }); await exporter.forceFlush(); await exporter.shutdown();
       const probe = new Worker('', { eval: true }); console.log(probe.threadId); await probe.terminate();`,
    );
    expect(output).toBe('1');
  });
});
