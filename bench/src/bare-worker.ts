/**
 * The worker of the job-latency benchmark's baseline and peer: a plain BullMQ `Worker` on the
 * `default` queue, at Flotilla's concurrency for that queue (20), doing what Flotilla's sleep
 * handler does (wait `ms` in `steps`, reporting progress after each), so that both process the
 * same workload. Configured by REDIS_URL, QUEUE_PREFIX and PORT; GET /readyz answers 200 once
 * the worker runs.
 */
import { createServer } from 'node:http';
import { setTimeout as wait } from 'node:timers/promises';
import { Worker, type Job } from 'bullmq';
import { queueSettingsFromEnv, requiredEnv } from './harness/process-env.js';

async function sleep(job: Job<{ ms: number; steps: number }>): Promise<{ sleptMs: number; steps: number }> {
  const { ms, steps } = job.data;
  for (let step = 1; step <= steps; step++) {
    await wait(ms / steps);
    await job.updateProgress(Math.round((100 * step) / steps));
  }
  return { sleptMs: ms, steps };
}

const worker = new Worker('default', sleep, {
  ...queueSettingsFromEnv('bare-worker'),
  concurrency: 20,
});
await worker.waitUntilReady();
const probe = createServer((_req, res) => res.end('ok')).listen(
  Number(requiredEnv('bare-worker', 'PORT')),
  '127.0.0.1',
);

process.once('SIGTERM', () => {
  probe.close();
  void worker.close();
});
