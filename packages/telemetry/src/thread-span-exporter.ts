import { Worker } from 'node:worker_threads';
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { toPortableBatch } from './portable-spans.js';
import type { ExportThreadData, ExportThreadReply, ExportThreadRequest } from './span-export-messages.js';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * A span exporter that hands each batch to a worker thread running the OTLP exporter.
 *
 * Why a thread: on the main thread, the exporter's HTTP client shares V8's inline caches with
 * the server's sockets and streams and leaves them megamorphic after its first export (a web
 * that only POSTed a body every 20 s counted 4.6 % more instructions per request, one run
 * each), and its encoder runs there too. With the exporter in a thread, recording every trace
 * cost the main thread 1.38× (web) and 1.50× (worker) the instructions of telemetry off,
 * against 2.33× and 2.75× before (bench/src/telemetry-instructions.ts). The price is the
 * thread's own heap, about 23 MB of resident memory once the first batch is exported, and a
 * copy of each batch into plain data.
 */
export class ThreadSpanExporter implements SpanExporter {
  readonly #data: ExportThreadData;
  // Started with the first export: a process that records no span pays no thread.
  #worker: Worker | undefined;
  readonly #pending = new Map<number, (reply: ExportThreadReply) => void>();
  #nextId = 0;
  #failure: string | undefined;

  constructor(data: ExportThreadData) {
    this.#data = data;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    void this.#ask({ type: 'export', batch: toPortableBatch(spans) }).then((reply) =>
      resultCallback(
        reply.ok
          ? { code: ExportResultCode.SUCCESS }
          : { code: ExportResultCode.FAILED, error: new Error(reply.error) },
      ),
    );
  }

  async forceFlush(): Promise<void> {
    if (!this.#worker) return;
    const reply = await this.#ask({ type: 'flush' });
    if (!reply.ok) throw new Error(reply.error);
  }

  async shutdown(): Promise<void> {
    if (this.#failure !== undefined) return;
    const worker = this.#worker;
    const reply = worker ? await this.#ask({ type: 'shutdown' }) : undefined;
    this.#failure = 'the span exporter is shut down';
    await worker?.terminate();
    if (reply && !reply.ok) throw new Error(reply.error);
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    // No execArgv: the process's flags (--inspect, --cpu-prof, --import) are meant for it, not for this thread.
    const worker = new Worker(new URL('./span-export-thread.js', import.meta.url), {
      workerData: this.#data,
      name: 'otlp-span-export',
      execArgv: [],
    });
    worker.on('message', (reply: ExportThreadReply) => {
      const settle = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      settle?.(reply);
    });
    worker.on('error', (error: Error) => this.#fail(`span export thread failed: ${error.message}`));
    worker.on('exit', (code) => this.#fail(`span export thread exited with code ${code}`));
    // An idle thread must not keep the process alive; one with a request open does (see #ask).
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    return (this.#worker = worker);
  }

  #ask(request: WithoutId<ExportThreadRequest>): Promise<ExportThreadReply> {
    const id = this.#nextId++;
    if (this.#failure !== undefined) return Promise.resolve({ id, ok: false, error: this.#failure });
    const worker = this.#thread();
    return new Promise((resolve) => {
      try {
        worker.postMessage({ ...request, id } satisfies ExportThreadRequest);
      } catch (error) {
        // A value structured clone cannot copy: the batch is lost, the exporter goes on.
        resolve({
          id,
          ok: false,
          error: `spans could not be handed to the export thread: ${error instanceof Error ? error.message : String(error)}`,
        });
        return;
      }
      // Until it is answered, so that a process shutting down waits for its last spans.
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, resolve);
    });
  }

  // Answers every open request, and every later one, with the thread's failure.
  #fail(reason: string): void {
    if (this.#failure !== undefined) return;
    this.#failure = reason;
    diag.error(reason);
    for (const [id, settle] of this.#pending) settle({ id, ok: false, error: reason });
    this.#pending.clear();
    this.#worker?.unref();
  }
}
