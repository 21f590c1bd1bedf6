import { Router, type Response } from 'express';
import {
  compareStreamIds,
  isFinished,
  isTerminalEvent,
  type JobEvent,
  type JobEventHub,
  type JobProducer,
  type JobView,
} from '@flotilla/queue';
import { HttpProblem } from '../problems.js';
import { whenResponseCloses } from '../when-response-closes.js';
import { jobIdOf } from './request-checks.js';

/** What the event stream route needs. */
export interface JobEventRoutesDeps {
  readonly producer: JobProducer;
  readonly events: JobEventHub;
  readonly heartbeatMs: number;
  /** Registers a stream to be ended politely at shutdown; returns the unregister function. */
  readonly track: (close: () => void) => () => void;
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
// How long a client waits before reconnecting after the stream drops (SSE `retry:` field).
const RECONNECT_MS = 2000;

function writeEvent(res: Response, name: string, id: string, data: unknown): void {
  res.write(`id: ${id}\nevent: ${name}\ndata: ${JSON.stringify(data ?? null)}\n\n`);
}

/**
 * GET /api/jobs/:id/events: Server-Sent Events for one job. Event ids are positions in the
 * queue's Redis event stream, which every web replica shares, so a client that reconnects to
 * any replica with Last-Event-ID is replayed what it missed. The stream ends with the job.
 */
export function jobEventRoutes(deps: JobEventRoutesDeps): Router {
  const router = Router();
  router.get('/api/jobs/:id/events', async (req, res) => {
    const id = jobIdOf(req);
    const lastEventId = req.get('last-event-id');
    const resumeFrom = lastEventId !== undefined && STREAM_ID.test(lastEventId) ? lastEventId : undefined;

    // Subscribe first and buffer, so nothing that happens while we read the state is lost.
    const buffered: JobEvent[] = [];
    let deliver: (event: JobEvent) => void = (event) => buffered.push(event);
    const unsubscribe = deps.events.subscribe(id, (event) => deliver(event));
    let closed = false;
    const cleanups: (() => void)[] = [unsubscribe];
    const end = (): void => {
      if (closed) return;
      closed = true;
      for (const cleanup of cleanups) cleanup();
      res.end();
    };
    // From the start: a client that leaves during one of the reads below releases everything
    // it holds then, and the reads' continuation finds the stream closed.
    whenResponseCloses(res, end);
    try {
      const horizon = await deps.events.lastEventId(id);
      const view = await deps.producer.find(id);
      if (!view) throw new HttpProblem('job-not-found', 'there is no job with this id (finished jobs expire)');
      const missed = resumeFrom
        ? await deps.events.eventsBetween(id, resumeFrom, horizon, Date.parse(view.createdAt))
        : undefined;
      if (closed) return;

      res.status(200).set({
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // Stops nginx-style proxies (App Engine, OpenShift routers, ingresses) from buffering.
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      res.write(`retry: ${RECONNECT_MS}\n\n`);
      cleanups.push(deps.track(end));
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.heartbeatMs);
      cleanups.push(() => clearInterval(heartbeat));

      let position = horizon;
      if (missed) {
        for (const event of missed) writeEvent(res, event.type, event.id, event.data);
        if (missed.some(isTerminalEvent)) return end();
      } else {
        writeEvent(res, 'state', horizon, view);
      }
      // Finished before this stream began (or before the replayed range): say how, and stop.
      const terminal = terminalEventOf(view);
      if (terminal) {
        writeEvent(res, terminal.type, horizon, terminal.data);
        return end();
      }
      deliver = (event) => {
        if (closed || compareStreamIds(event.id, position) <= 0) return;
        position = event.id;
        writeEvent(res, event.type, event.id, event.data);
        if (isTerminalEvent(event)) end();
      };
      for (const event of buffered.splice(0)) deliver(event);
    } catch (error) {
      if (res.headersSent || closed) {
        end();
        return;
      }
      for (const cleanup of cleanups) cleanup();
      closed = true;
      throw error;
    }
  });
  return router;
}

function terminalEventOf(view: JobView): { type: 'completed' | 'failed'; data: unknown } | undefined {
  if (!isFinished(view.state)) return undefined;
  return view.state === 'completed' ? { type: 'completed', data: view.result } : { type: 'failed', data: view.error };
}
