/**
 * The baseline of the http-submit benchmark, run as a process of its own like the web: a bare
 * node:http server whose POST /api/jobs/sleep parses the JSON body and hands it to a raw
 * BullMQ `queue.add`, with none of Flotilla's validation, ids, options or middleware.
 * Configured by REDIS_URL, QUEUE_PREFIX and PORT; GET /readyz answers 200 for the spawner.
 * With FLOTILLA_JOB_OPTIONS=true it adds Flotilla's job options (retry, backoff, retention,
 * unguessable ids; JOB_RETENTION_* as for the services), so BullMQ's own price for them can be
 * told apart from Flotilla's code.
 */
import { createServer, type ServerResponse } from 'node:http';
import { Queue } from 'bullmq';
import { flotillaSleepJobOptions } from './harness/flotilla-job-options.js';
import { queueSettingsFromEnv, requiredEnv } from './harness/process-env.js';

const queue = new Queue('default', queueSettingsFromEnv('bare-submit-server'));
const jobOptions =
  process.env['FLOTILLA_JOB_OPTIONS'] === 'true' ? flotillaSleepJobOptions(process.env) : () => undefined;

async function submit(body: string, res: ServerResponse): Promise<void> {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    res.writeHead(400).end();
    return;
  }
  try {
    const job = await queue.add('sleep', data, jobOptions());
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: job.id }));
  } catch {
    res.writeHead(503).end();
  }
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') {
    res.end('ok');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/api/jobs/sleep') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => void submit(Buffer.concat(chunks).toString('utf8'), res));
});
server.listen(Number(requiredEnv('bare-submit-server', 'PORT')), '127.0.0.1');

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void queue.close();
});
