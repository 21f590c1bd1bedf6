import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import { IdempotencyConflictError, JobInputError, QueueFullError, UnknownJobTypeError } from '@flotilla/queue';
import { isRedisUnavailableError } from '@flotilla/redis';
import type { Logger } from '@flotilla/telemetry';

/**
 * Every error the API answers with: code (the last part of the problem `type`), HTTP status and
 * title. The OpenAPI document and the tests read this table, so it is the single list.
 */
export const PROBLEMS = {
  'malformed-json': { status: 400, title: 'Request body is not valid JSON' },
  'malformed-body': { status: 400, title: 'Request body cannot be decoded' },
  'invalid-header': { status: 400, title: 'A request header is invalid' },
  'bad-request': { status: 400, title: 'The request is not valid HTTP' },
  unauthorized: { status: 401, title: 'Credentials required' },
  'cross-site-request': { status: 403, title: 'Cross-site requests may not change anything here' },
  'action-disabled': { status: 403, title: 'This dashboard action is turned off' },
  'not-found': { status: 404, title: 'No such resource' },
  'unknown-job-type': { status: 404, title: 'No such job type' },
  'job-not-found': { status: 404, title: 'No such job' },
  'article-not-found': { status: 404, title: 'No such article' },
  'process-not-found': { status: 404, title: 'No such live process' },
  'profile-not-found': { status: 404, title: 'No such profile' },
  'request-timeout': { status: 408, title: 'The request took too long to arrive' },
  'job-active': { status: 409, title: 'Job is already running' },
  'job-finished': { status: 409, title: 'Job has already finished' },
  'job-not-failed': { status: 409, title: 'Job has not failed' },
  'profile-in-progress': { status: 409, title: 'The process is already recording a profile' },
  'profile-not-ready': { status: 409, title: 'The profile is not done' },
  'precondition-failed': { status: 412, title: 'The resource has changed since you read it' },
  'payload-too-large': { status: 413, title: 'Request body is too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported request body type' },
  'validation-failed': { status: 422, title: 'Request is invalid' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency-Key was used for a different request' },
  'precondition-required': { status: 428, title: 'This write needs If-Match' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'too-many-streams': { status: 429, title: 'Too many open event streams' },
  'headers-too-large': { status: 431, title: 'Request headers are too large' },
  'service-unavailable': { status: 503, title: 'Service temporarily unavailable' },
  'process-unreachable': { status: 503, title: 'The process did not take the request' },
  'internal-error': { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;

/** A problem code from the catalogue. */
export type ProblemCode = keyof typeof PROBLEMS;

/** One invalid field: a JSON pointer into the request (`#/n` for the body, or a query/header name) and why. */
export interface FieldError {
  readonly pointer: string;
  readonly detail: string;
}

/** The `type` URI of a problem code. */
export function problemType(code: ProblemCode): string {
  return `urn:flotilla:problem:${code}`;
}

/** An error that becomes an RFC 9457 problem response. */
export class HttpProblem extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly errors?: readonly FieldError[],
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

/** Seconds a client should wait before retrying while Redis is unreachable. */
const RETRY_AFTER_SECONDS = '5';

/** The RFC 9457 body of a problem, as JSON text; `instance` is the request's URL when it is known. */
export function problemJson(problem: HttpProblem, instance: string | undefined): string {
  const { status, title } = PROBLEMS[problem.code];
  return JSON.stringify({
    type: problemType(problem.code),
    title,
    status,
    detail: problem.detail,
    ...(instance !== undefined ? { instance } : {}),
    ...(problem.errors ? { errors: problem.errors } : {}),
  });
}

/** Writes a problem+json response; headers set on `res` before (security, CORS) stay. */
export function sendProblem(res: ServerResponse, problem: HttpProblem, instance: string): void {
  const body = problemJson(problem, instance);
  if (problem.headers) for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.statusCode = PROBLEMS[problem.code].status;
  res.setHeader('content-type', 'application/problem+json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** The body parser's problems, also raised where a body is read without it. */
export const BODY_PROBLEMS = {
  unparsable: () => new HttpProblem('malformed-json', 'the request body could not be parsed as JSON'),
  incomplete: () => new HttpProblem('malformed-json', 'the request body was incomplete'),
};

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
  /** The decompressor's code when a compressed body does not decode: Z_DATA_ERROR, ERR__ERROR_FORMAT_…, ZSTD_error_… */
  readonly code?: string;
  /** Set, with code, on every error Node's zlib raises (gzip, deflate, brotli and zstd alike). */
  readonly errno?: number;
}

/** Turns any thrown error into the right problem; only errors nobody anticipated are 500s. */
export function toProblem(error: unknown, bodyLimitBytes: number): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error;
  if (error instanceof UnknownJobTypeError)
    return new HttpProblem('unknown-job-type', `there is no job type "${error.type}"`);
  if (error instanceof JobInputError) {
    return new HttpProblem(
      'validation-failed',
      `the input does not match the "${error.type}" job type`,
      error.issues.map((issue) => ({ pointer: `#/${issue.path.map(String).join('/')}`, detail: issue.message })),
    );
  }
  if (error instanceof IdempotencyConflictError) {
    return new HttpProblem(
      'idempotency-key-reused',
      'this Idempotency-Key was already used with another job type or input; use a new key',
    );
  }
  if (error instanceof QueueFullError) {
    return new HttpProblem(
      'service-unavailable',
      'the job store is full; retry once the workers have drained it',
      undefined,
      { 'retry-after': RETRY_AFTER_SECONDS },
    );
  }
  if (isRedisUnavailableError(error)) {
    return new HttpProblem('service-unavailable', 'the job store is unreachable; retry shortly', undefined, {
      'retry-after': RETRY_AFTER_SECONDS,
    });
  }
  // The router decodes path parameters; a bad escape such as %zz is the client's mistake.
  if (error instanceof URIError && (error as BodyParserError).status === 400) {
    return new HttpProblem('bad-request', 'the path contains an invalid percent-encoding');
  }
  const { type, code, errno, status } = (error ?? {}) as BodyParserError;
  // The body parser passes a decoder's error on as a 400 of no type of its own.
  if (type === undefined && status === 400 && typeof code === 'string' && typeof errno === 'number') {
    return new HttpProblem('malformed-body', 'the request body does not decompress as its Content-Encoding says');
  }
  switch (type) {
    case 'entity.parse.failed':
      return BODY_PROBLEMS.unparsable();
    case 'entity.too.large':
      return new HttpProblem('payload-too-large', `the request body exceeds ${bodyLimitBytes} bytes`);
    case 'parameters.too.many':
      return new HttpProblem('payload-too-large', 'the form has more fields than this server reads');
    case 'encoding.unsupported':
      return new HttpProblem(
        'unsupported-media-type',
        'the request body must be sent as it is or in gzip, deflate, br or zstd (Content-Encoding)',
      );
    case 'charset.unsupported':
      return new HttpProblem('unsupported-media-type', 'the request body must be UTF-8 JSON');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return BODY_PROBLEMS.incomplete();
    default:
      return undefined;
  }
}

/**
 * Answers a request that failed with `error`: problem JSON, logged when Redis is away (a warning)
 * or when nobody anticipated the error (a 500). The response must not have begun.
 */
export function answerError(
  logger: Logger,
  bodyLimitBytes: number,
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  instance: string,
): void {
  const problem = toProblem(error, bodyLimitBytes);
  const path = instance.split('?', 1)[0];
  if (problem) {
    if (problem.code === 'service-unavailable')
      logger.warn({ err: (error as Error).message, path }, 'redis unavailable');
    sendProblem(res, problem, instance);
    return;
  }
  logger.error({ err: error, method: req.method, path }, 'unhandled error');
  sendProblem(res, new HttpProblem('internal-error', 'an unexpected error occurred'), instance);
}

/** The last Express middleware: every error leaves as problem JSON. */
export function problemHandler(logger: Logger, bodyLimitBytes: number): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    answerError(logger, bodyLimitBytes, error, req, res, req.originalUrl);
  };
}
