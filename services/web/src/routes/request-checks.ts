import type { IncomingMessage } from 'node:http';
import { MIMEType } from 'node:util';
import type { Request, RequestHandler } from 'express';
import { queueOfJobId } from '@flotilla/queue';
import { HttpProblem } from '../problems.js';

// Printable ASCII only: the key is echoed into logs, never control characters. At most 255 of
// them, and Redis never stores the key itself: the job id is an HMAC of it, of fixed length.
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header, if any; a malformed one is a 400, never silently ignored. */
export function idempotencyKeyOf(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new HttpProblem('invalid-header', 'Idempotency-Key must be 1 to 255 printable ASCII characters', [
      { pointer: 'Idempotency-Key', detail: 'expected 1 to 255 printable ASCII characters' },
    ]);
  }
  return key;
}

/** A whole-number query parameter within bounds, or undefined when absent. */
export function integerQuery(req: Request, name: string, min: number, max: number): number | undefined {
  const raw: unknown = req.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,10}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new HttpProblem('validation-failed', `query parameter "${name}" is invalid`, [
      { pointer: name, detail: `expected a whole number from ${min} to ${max}` },
    ]);
  }
  return Number(raw);
}

/** The job id from the path; anything that is not a well-formed id is simply not found. */
export function jobIdOf(req: Request): string {
  const id = req.params['id'];
  if (typeof id !== 'string' || !queueOfJobId(id))
    throw new HttpProblem('job-not-found', 'there is no job with this id');
  return id;
}

/**
 * 415 unless the body is declared JSON; runs before the body is read. A request with no body at
 * all (no Content-Length, no Transfer-Encoding) counts as the empty body, which the JSON parser
 * reads as {}: req.is() reports no type for it, whatever its Content-Type says.
 */
export const requireJson: RequestHandler = (req, _res, next) => {
  const declared = req.get('content-type');
  if (!isJsonMediaType(declared)) {
    throw new HttpProblem(
      'unsupported-media-type',
      `expected Content-Type application/json, got ${declared ?? 'none'}`,
    );
  }
  if (!hasBody(req)) req.body = {};
  next();
};

function isJsonMediaType(declared: string | undefined): boolean {
  if (declared === undefined) return false;
  let type: MIMEType;
  try {
    type = new MIMEType(declared);
  } catch {
    return false;
  }
  return type.type === 'application' && (type.subtype === 'json' || type.subtype.endsWith('+json'));
}

// RFC 9112 §6.3: a request has a body when it says how long it is, in either header.
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/**
 * 400 for an HTTP/1.1 request without Host (RFC 9112 §3.2). Node would refuse it itself with a
 * bare 400; the server leaves it to this check so the answer is problem JSON like every other.
 */
export const requireHost: RequestHandler = (req, _res, next) => {
  if (req.httpVersion === '1.1' && req.headers.host === undefined) {
    throw new HttpProblem('bad-request', 'an HTTP/1.1 request needs a Host header');
  }
  next();
};

/**
 * 413 before a byte of the body is read when Content-Length already exceeds `limitBytes`, and
 * the connection is closed rather than kept: the body parser would first read the whole
 * declared body (to keep the connection reusable), which a client may say is a terabyte.
 */
export function declaredLengthWithin(limitBytes: number): RequestHandler {
  return (req, _res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limitBytes) {
      throw new HttpProblem('payload-too-large', `the request body exceeds ${limitBytes} bytes`, undefined, {
        connection: 'close',
      });
    }
    next();
  };
}
