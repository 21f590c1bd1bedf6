import type { Attributes, HrTime, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import { TraceState, type InstrumentationScope } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';

// Hand-written: exporters take ReadableSpan objects (methods, class instances), which structured
// clone cannot copy, and no OpenTelemetry package turns them into plain data and back.

/** A span context as structured clone carries it: the trace state as its header value. */
interface PortableContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote: boolean | undefined;
  readonly traceState: string | undefined;
}

interface PortableLink {
  readonly context: PortableContext;
  readonly attributes: Attributes | undefined;
  readonly droppedAttributesCount: number | undefined;
}

/** A finished span as plain data, which `postMessage` copies to another thread. */
interface PortableSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly context: PortableContext;
  readonly parent: PortableContext | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links: readonly PortableLink[];
  readonly events: readonly TimedEvent[];
  /** Index into the batch's resources. */
  readonly resource: number;
  readonly scope: InstrumentationScope;
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
}

/** A batch of spans and the resources they name, each resource sent once. */
export interface PortableBatch {
  readonly resources: readonly { readonly attributes: Attributes; readonly schemaUrl: string | undefined }[];
  readonly spans: readonly PortableSpan[];
}

function portableContext(context: SpanContext): PortableContext {
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    isRemote: context.isRemote,
    traceState: context.traceState?.serialize(),
  };
}

function spanContext(portable: PortableContext): SpanContext {
  return {
    traceId: portable.traceId,
    spanId: portable.spanId,
    traceFlags: portable.traceFlags,
    ...(portable.isRemote === undefined ? {} : { isRemote: portable.isRemote }),
    ...(portable.traceState === undefined ? {} : { traceState: new TraceState(portable.traceState) }),
  };
}

/** Copies finished spans into plain data; resources are sent once per batch, not per span. */
export function toPortableBatch(spans: readonly ReadableSpan[]): PortableBatch {
  const resources: Resource[] = [];
  const portable = spans.map((span): PortableSpan => {
    let resource = resources.indexOf(span.resource);
    if (resource === -1) resource = resources.push(span.resource) - 1;
    return {
      name: span.name,
      kind: span.kind,
      context: portableContext(span.spanContext()),
      parent: span.parentSpanContext && portableContext(span.parentSpanContext),
      startTime: span.startTime,
      endTime: span.endTime,
      duration: span.duration,
      status: span.status,
      attributes: span.attributes,
      links: span.links.map((link) => ({
        context: portableContext(link.context),
        attributes: link.attributes,
        droppedAttributesCount: link.droppedAttributesCount,
      })),
      events: span.events,
      resource,
      scope: span.instrumentationScope,
      droppedAttributesCount: span.droppedAttributesCount,
      droppedEventsCount: span.droppedEventsCount,
      droppedLinksCount: span.droppedLinksCount,
    };
  });
  return {
    resources: resources.map((resource) => ({ attributes: resource.attributes, schemaUrl: resource.schemaUrl })),
    spans: portable,
  };
}

/**
 * Rebuilds the spans of a batch for an exporter. Exporters group spans by resource and by
 * instrumentation scope object, so spans that shared one get one object again.
 */
export function fromPortableBatch(batch: PortableBatch): ReadableSpan[] {
  const resources = batch.resources.map((resource) =>
    resourceFromAttributes(
      resource.attributes,
      resource.schemaUrl === undefined ? {} : { schemaUrl: resource.schemaUrl },
    ),
  );
  const scopes = new Map<string, InstrumentationScope>();
  return batch.spans.map((span): ReadableSpan => {
    const resource = resources[span.resource];
    if (!resource) throw new Error(`span ${span.name} names resource ${span.resource} of ${resources.length}`);
    const scopeKey = `${span.scope.name}\n${span.scope.version ?? ''}\n${span.scope.schemaUrl ?? ''}`;
    let scope = scopes.get(scopeKey);
    if (!scope) scopes.set(scopeKey, (scope = span.scope));
    const context = spanContext(span.context);
    return {
      name: span.name,
      kind: span.kind,
      spanContext: () => context,
      ...(span.parent ? { parentSpanContext: spanContext(span.parent) } : {}),
      startTime: span.startTime,
      endTime: span.endTime,
      duration: span.duration,
      ended: true,
      status: span.status,
      attributes: span.attributes,
      links: span.links.map((link) => ({
        context: spanContext(link.context),
        ...(link.attributes === undefined ? {} : { attributes: link.attributes }),
        ...(link.droppedAttributesCount === undefined ? {} : { droppedAttributesCount: link.droppedAttributesCount }),
      })),
      events: [...span.events],
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: span.droppedAttributesCount,
      droppedEventsCount: span.droppedEventsCount,
      droppedLinksCount: span.droppedLinksCount,
    };
  });
}
