import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { JobProducer } from '@flotilla/queue';
import { clientKey } from './client-key.js';
import type { CorsPolicy } from './cors-policy.js';
import type { ApiRateLimiter } from './rate-limiter.js';
import { BODY_PROBLEMS } from './problems.js';
import { jobLocation, writeAccepted } from './routes/jobs.js';
import { idempotencyKeyOf } from './routes/request-checks.js';
import { SECURITY_HEADERS, setSecurityHeaders } from './security-headers.js';

/** What the fast path needs: the same parts the Express route is built from. */
export interface SubmissionFastPathDeps {
  readonly producer: JobProducer;
  readonly jobTypes: readonly string[];
  readonly bodyLimitBytes: number;
  readonly rateLimiter: ApiRateLimiter | undefined;
  readonly cors: CorsPolicy | undefined;
  /** Express's compiled `trust proxy` function, so the client is the one `req.ip` names. */
  readonly trustProxy: (address: string, hop: number) => boolean;
  readonly isDraining: () => boolean;
  /** Answers a failed request with problem JSON, as the Express app's last middleware does. */
  readonly answerError: (error: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

/** A request the fast path took: the declared job type and the body's declared length (0: none). */
export interface TakenSubmission {
  readonly type: string;
  readonly length: number;
}

/** The route template the fast path's requests are measured and traced under. */
export const SUBMISSION_ROUTE = '/api/jobs/:type';

// Content types the fast path reads itself: JSON in UTF-8, spelled as clients send it. Any other
// spelling (parameters, +json, another charset) goes through Express's parser.
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/**
 * POST /api/jobs/:type answered before Express: its router, body parser and response helpers
 * were half of a submission's CPU time. It takes only the common request (a declared type, no
 * query, plain UTF-8 JSON of a declared length within the limit, no credentials, not draining)
 * and runs the route's own checks in the route's order: CORS, rate limit, body, Idempotency-Key,
 * schema (in the producer). Every other request, bad ones included, goes to the Express route,
 * whose answers the shared parts keep identical.
 */
export class SubmissionFastPath {
  private readonly types: ReadonlyMap<string, string>;

  constructor(private readonly deps: SubmissionFastPathDeps) {
    this.types = new Map(deps.jobTypes.map((type) => [jobLocation(type), type]));
  }

  /** What to submit when the fast path takes this request; undefined leaves it to Express. */
  takes(req: IncomingMessage): TakenSubmission | undefined {
    if (req.method !== 'POST') return undefined;
    const type = this.types.get(req.url ?? '');
    if (type === undefined || this.deps.isDraining()) return undefined;
    const length = this.declaredLength(req);
    return length === undefined ? undefined : { type, length };
  }

  /** Answers a request {@link takes} took: 202 with the job's location, or problem JSON. */
  answer(req: IncomingMessage, res: ServerResponse, taken: TakenSubmission): void {
    void this.submit(req, res, taken).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      setSecurityHeaders(res);
      this.deps.answerError(error, req, res);
    });
  }

  // The body's length when the request is one the fast path takes (0 for no body), else undefined.
  private declaredLength(req: IncomingMessage): number | undefined {
    const { headers } = req;
    const contentType = headers['content-type'];
    if (contentType === undefined || !PLAIN_JSON.has(contentType.toLowerCase())) return undefined;
    if (
      headers.authorization !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      headers['content-encoding'] !== undefined
    )
      return undefined;
    if (headers.host === undefined && req.httpVersion === '1.1') return undefined;
    const length = headers['content-length'] === undefined ? 0 : Number(headers['content-length']);
    return length <= this.deps.bodyLimitBytes ? length : undefined;
  }

  private async submit(req: IncomingMessage, res: ServerResponse, { type, length }: TakenSubmission): Promise<void> {
    const { cors, rateLimiter, producer } = this.deps;
    cors?.(req, res, () => undefined);
    if (rateLimiter) {
      const refusal = rateLimiter.admit(clientKey(proxyaddr(req, this.deps.trustProxy)));
      const problem = refusal instanceof Promise ? await refusal : refusal;
      if (problem) throw problem;
    }
    const body = length === 0 ? {} : await readJson(req, length);
    const result = await producer.enqueue(type, body ?? {}, { idempotencyKey: idempotencyKeyOf(req) });
    writeAccepted(res, type, result, SECURITY_HEADERS);
  }
}

/**
 * The body of `length` bytes parsed as UTF-8 JSON, as Express's JSON parser reads it: a leading
 * byte order mark is dropped and an empty body is {}. Hand-written: the parser's general path
 * (content negotiation, decompression, charset decoding) is most of its cost, and none of it
 * applies to the requests the fast path takes.
 */
function readJson(req: IncomingMessage, length: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    });
    // 'close' follows every request, read or not: only one that came before 'end' is a failure.
    const cutOff = (): void => {
      if (!ended) reject(BODY_PROBLEMS.incomplete());
    };
    req.once('error', cutOff);
    req.once('close', cutOff);
    req.once('end', () => {
      ended = true;
      if (received !== length) {
        reject(BODY_PROBLEMS.incomplete());
        return;
      }
      const text = (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received)).toString('utf8');
      const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      try {
        resolve(json.length === 0 ? {} : JSON.parse(json));
      } catch {
        reject(BODY_PROBLEMS.unparsable());
      }
    });
  });
}
