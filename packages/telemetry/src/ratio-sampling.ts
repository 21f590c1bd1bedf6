import type { Context } from '@opentelemetry/api';
import {
  ParentBasedSampler,
  RandomIdGenerator,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type IdGenerator,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace';
import type { TracingSettings } from './tracing-settings.js';

const WORDS = 4;

/**
 * The SDK's random ids, except that it keeps, for the trace id it handed out last, the XOR of
 * its four 32-bit words: the hash on which trace-id ratio sampling decides, computed from the
 * random numbers before they become hex. The sampler is asked about that id right after.
 */
export class HashedTraceIds implements IdGenerator {
  readonly #spanIds = new RandomIdGenerator();
  readonly #words = Buffer.allocUnsafe(WORDS * 4);
  #lastTraceId = '';
  #lastHash = 0;

  generateTraceId(): string {
    let hash = 0;
    let any = 0;
    for (let index = 0; index < WORDS; index++) {
      const word = (Math.random() * 2 ** 32) >>> 0;
      this.#words.writeUInt32BE(word, index * 4);
      hash = (hash ^ word) >>> 0;
      any |= word;
    }
    // An all-zero trace id is invalid; the SDK's generator ends it in 1 instead, and so does this.
    if (any === 0) {
      this.#words[WORDS * 4 - 1] = 1;
      hash = 1;
    }
    this.#lastTraceId = this.#words.toString('hex');
    this.#lastHash = hash;
    return this.#lastTraceId;
  }

  generateSpanId(): string {
    return this.#spanIds.generateSpanId();
  }

  /** The sampling hash of `traceId` if it is the id generated last, otherwise undefined. */
  hashOf(traceId: string): number | undefined {
    return traceId === this.#lastTraceId ? this.#lastHash : undefined;
  }
}

/**
 * Samples the same traces as the SDK's TraceIdRatioBasedSampler (those whose id hashes below
 * ratio × 2^32, so every OpenTelemetry SDK with the same ratio keeps the same traces), taking
 * the hash of an id it generated itself from `ids`. Hand-written because the SDK's sampler
 * re-reads the id's 32 hex digits one by one, twice (a validity check, then the hash): counted
 * with callgrind on the web, some 12 k instructions per request through V8's generic property
 * loads, which made sampling 1 % cost three times what recording those 1 % did. An id from
 * elsewhere is decided by the SDK's sampler.
 */
export class TraceIdRatioSampler implements Sampler {
  readonly #ratio: number;
  readonly #ids: HashedTraceIds;
  readonly #upperBound: number;
  readonly #fallback: TraceIdRatioBasedSampler;

  constructor(ratio: number, ids: HashedTraceIds) {
    this.#ratio = ratio;
    this.#ids = ids;
    this.#fallback = new TraceIdRatioBasedSampler(ratio);
    this.#upperBound = ratio >= 1 ? 2 ** 32 : Math.floor(Math.max(0, ratio) * 0xffffffff);
  }

  shouldSample(context: Context, traceId: string): SamplingResult {
    const hash = this.#ids.hashOf(traceId);
    if (hash === undefined) return this.#fallback.shouldSample(context, traceId);
    return { decision: hash < this.#upperBound ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
  }

  toString(): string {
    return `TraceIdRatioBased{${this.#ratio}}`;
  }
}

/**
 * The SDK's `sampler` and `idGenerator` for the trace-id ratio sampling OTEL_TRACES_SAMPLER
 * names: the samplers the SDK would build from it, with the same decisions at a fraction of the
 * cost.
 */
export function ratioSamplingOptions({ ratio, parentBased }: NonNullable<TracingSettings['ratioSampling']>): {
  sampler: Sampler;
  idGenerator: HashedTraceIds;
} {
  const idGenerator = new HashedTraceIds();
  const root = new TraceIdRatioSampler(ratio, idGenerator);
  return { sampler: parentBased ? new ParentBasedSampler({ root }) : root, idGenerator };
}
