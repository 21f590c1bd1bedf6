import type { ServerResponse } from 'node:http';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import {
  isFinished,
  isTerminalEvent,
  type EnqueueResult,
  type JobEventHub,
  type JobProducer,
  type JobView,
} from '@flotilla/queue';
import { HttpProblem } from '../problems.js';
import { idempotencyKeyOf, integerQuery, jobIdOf, requireJson } from './request-checks.js';
import { whenResponseCloses } from '../when-response-closes.js';

/** What the job routes need. */
export interface JobRoutesDeps {
  readonly producer: JobProducer;
  readonly events: JobEventHub;
  readonly bodyLimitBytes: number;
  /** The longest long poll (`?wait=`, which clients give in seconds). */
  readonly maxWaitMs: number;
}

const MAX_DELAY_MS = 7 * 24 * 3600 * 1000;

/** The URL of a job resource. */
export function jobLocation(id: string): string {
  return `/api/jobs/${id}`;
}

/**
 * Writes the 202 of an accepted submission, with `leading` headers first (a flat [name, value, …]
 * list) and any already set on `res` kept.
 */
export function writeAccepted(
  res: ServerResponse,
  type: string,
  result: EnqueueResult,
  leading: readonly string[] = [],
): void {
  const location = jobLocation(result.id);
  const body = JSON.stringify({
    id: result.id,
    type,
    state: result.state,
    links: { self: location, events: `${location}/events` },
  });
  const headers = [
    ...leading,
    'location',
    location,
    'cache-control',
    'no-store',
    'content-type',
    'application/json; charset=utf-8',
  ];
  if (!result.created) headers.push('idempotent-replayed', 'true');
  headers.push('content-length', String(Buffer.byteLength(body)));
  res.writeHead(202, headers);
  res.end(body);
}

/** The declared job type named in the path; 404 for any other. */
function jobTypeOf(req: Request, jobTypes: ReadonlySet<string>): string {
  const type = req.params['type'];
  if (typeof type !== 'string' || !jobTypes.has(type)) {
    throw new HttpProblem('unknown-job-type', `there is no job type "${String(type)}"`);
  }
  return type;
}

/** POST /api/jobs/:type, GET and DELETE /api/jobs/:id. */
export function jobRoutes(deps: JobRoutesDeps, jobTypes: readonly string[]): Router {
  const router = Router();
  const json = express.json({
    limit: deps.bodyLimitBytes,
    strict: false,
    type: ['application/json', 'application/*+json'],
  });

  const declared = new Set(jobTypes);
  const knownType: RequestHandler = (req, _res, next) => {
    jobTypeOf(req, declared);
    next();
  };
  router.post('/api/jobs/:type', knownType, requireJson, json, async (req, res) => {
    const type = jobTypeOf(req, declared);
    const idempotencyKey = idempotencyKeyOf(req);
    const delayMs = integerQuery(req, 'delay', 0, MAX_DELAY_MS);
    const body: unknown = req.body ?? {};
    writeAccepted(res, type, await deps.producer.enqueue(type, body, { idempotencyKey, delayMs }));
  });

  router.get('/api/jobs/:id', async (req, res) => {
    const id = jobIdOf(req);
    const waitSeconds = integerQuery(req, 'wait', 0, Math.floor(deps.maxWaitMs / 1000)) ?? 0;
    const view = waitSeconds > 0 ? await waitForEnd(deps, id, waitSeconds * 1000, res) : await deps.producer.find(id);
    if (!view) throw new HttpProblem('job-not-found', 'there is no job with this id (finished jobs expire)');
    res.set('cache-control', 'no-store').json(view);
  });

  router.delete('/api/jobs/:id', async (req, res) => {
    const id = jobIdOf(req);
    const outcome = await deps.producer.cancel(id);
    switch (outcome) {
      case 'cancelled':
        res.set('cache-control', 'no-store').json({ id, state: 'cancelled' });
        return;
      case 'active':
        throw new HttpProblem('job-active', 'the job is running and cannot be cancelled');
      case 'finished':
        throw new HttpProblem('job-finished', 'the job has already finished');
      case 'not-found':
        throw new HttpProblem('job-not-found', 'there is no job with this id');
    }
  });

  return router;
}

/**
 * Long poll: answers as soon as the job ends, or with its current state after `timeoutMs`.
 * Subscribes before reading the state, so an end that happens in between is not missed.
 */
async function waitForEnd(
  deps: JobRoutesDeps,
  id: string,
  timeoutMs: number,
  res: Response,
): Promise<JobView | undefined> {
  let wake: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (wake = resolve));
  const unsubscribe = deps.events.subscribe(id, (event) => {
    if (isTerminalEvent(event)) wake();
  });
  const timer = setTimeout(wake, timeoutMs);
  // The response closes early only when the client went away (possibly already, during an await before).
  const stopWatching = whenResponseCloses(res, wake);
  try {
    const first = await deps.producer.find(id);
    if (!first || isFinished(first.state)) return first;
    await ended;
    return await deps.producer.find(id);
  } finally {
    clearTimeout(timer);
    stopWatching();
    unsubscribe();
  }
}
