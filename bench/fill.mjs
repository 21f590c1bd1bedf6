import { Queue } from 'bullmq';
const q = new Queue('default', { connection: { host: '127.0.0.1', port: Number(process.env.PORT) }, prefix: '{tp}' });
await q.obliterate({ force: true }).catch(() => {});
const N = Number(process.env.N ?? 20000);
let i = 0;
await Promise.all(Array.from({ length: 32 }, async () => { while (i++ < N) await q.add('sleep', { ms: 0, steps: 1 }, { removeOnComplete: true }); }));
await q.close();
