import type { PortableBatch } from './portable-spans.js';
import type { OtlpProtocol } from './tracing-settings.js';

/** What the process asks of its span export thread; each request is answered once, by id. */
export type ExportThreadRequest = { readonly id: number } & (
  | { readonly type: 'export'; readonly batch: PortableBatch }
  | { readonly type: 'flush' }
  | { readonly type: 'shutdown' }
);

/** The export thread's answer to the request of the same id. */
export type ExportThreadReply = { readonly id: number } & (
  { readonly ok: true } | { readonly ok: false; readonly error: string }
);

/** What the export thread is started with. */
export interface ExportThreadData {
  /** OTLP's transport, as OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says. */
  readonly protocol: OtlpProtocol;
}
