/**
 * The worker of the job-latency benchmark's baseline and peer: a plain BullMQ `Worker` on the
 * `default` queue with a trivial async processor, at Flotilla's concurrency for that queue (20).
 * Configured by REDIS_URL, QUEUE_PREFIX and PORT; GET /readyz answers 200 once the worker runs.
 */
import { createServer } from 'node:http';
import { Worker } from 'bullmq';
import { queueSettingsFromEnv, requiredEnv } from './harness/process-env.js';

const worker = new Worker('default', () => Promise.resolve({ slept: 0 }), {
  ...queueSettingsFromEnv('bare-worker'),
  concurrency: 20,
});
await worker.waitUntilReady();
const probe = createServer((_req, res) => res.end('ok')).listen(Number(requiredEnv('bare-worker', 'PORT')), '127.0.0.1');

process.once('SIGTERM', () => {
  probe.close();
  void worker.close();
});
