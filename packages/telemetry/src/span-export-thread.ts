import { parentPort, workerData } from 'node:worker_threads';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { fromPortableBatch } from './portable-spans.js';
import type { ExportThreadData, ExportThreadReply, ExportThreadRequest } from './span-export-messages.js';

// The thread started by ThreadSpanExporter: it runs the OTLP exporter the OTEL_* variables ask
// for (endpoint, headers, compression, timeout are read by the exporter from this thread's copy
// of the environment), so encoding spans and the HTTP or gRPC client stay off the main thread.

async function otlpExporter(protocol: ExportThreadData['protocol']): Promise<SpanExporter> {
  switch (protocol) {
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  }
}

function exported(
  exporter: SpanExporter,
  request: Extract<ExportThreadRequest, { type: 'export' }>,
): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(fromPortableBatch(request.batch), resolve));
}

async function handle(exporter: SpanExporter, request: ExportThreadRequest): Promise<ExportThreadReply> {
  try {
    if (request.type === 'flush') await exporter.forceFlush?.();
    else if (request.type === 'shutdown') await exporter.shutdown();
    else {
      const result = await exported(exporter, request);
      if (result.code !== ExportResultCode.SUCCESS)
        return { id: request.id, ok: false, error: result.error?.message ?? 'export failed' };
    }
    return { id: request.id, ok: true };
  } catch (error) {
    return { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

const port = parentPort;
if (!port) throw new Error('span-export-thread runs as a worker thread, started by ThreadSpanExporter');
const exporter = await otlpExporter((workerData as ExportThreadData).protocol);
port.on('message', (request: ExportThreadRequest) => {
  void handle(exporter, request).then((reply) => port.postMessage(reply));
});
