/**
 * The peer of the http-submit and job-latency benchmarks: what a team would write first, as
 * Heroku's node-workers example does: Express, `express.json()` and a raw BullMQ `queue.add`,
 * with no schema, ids, options, limits or security headers. Configured by REDIS_URL,
 * QUEUE_PREFIX and PORT; GET /readyz answers 200 for the spawner.
 */
import { Queue } from 'bullmq';
import express from 'express';
import { queueSettingsFromEnv, requiredEnv } from './harness/process-env.js';

const queue = new Queue('default', queueSettingsFromEnv('peer-submit-server'));

const app = express();
app.use(express.json());
app.get('/readyz', (_req, res) => {
  res.send('ok');
});
app.post('/api/jobs/sleep', async (req, res) => {
  const job = await queue.add('sleep', req.body);
  res.status(202).json({ id: job.id });
});
const server = app.listen(Number(requiredEnv('peer-submit-server', 'PORT')), '127.0.0.1');

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void queue.close();
});
