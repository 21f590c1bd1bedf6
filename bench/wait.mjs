import { Queue } from 'bullmq';
const q = new Queue('default', { connection: { host: '127.0.0.1', port: Number(process.env.PORT) }, prefix: '{tp}' });
const t0 = Date.now();
for (;;) { const c = await q.getJobCounts('waiting', 'active'); if (c.waiting + c.active === 0) break; await new Promise(r => setTimeout(r, 50)); }
console.log('drained in', Date.now() - t0, 'ms');
await q.close();
