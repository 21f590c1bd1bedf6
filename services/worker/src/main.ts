import { loadWorkerConfig } from '@flotilla/config';
import { runService } from '@flotilla/lifecycle';

// Only modules that load none of the traced libraries are imported statically: ioredis and
// bullmq must first load after tracing has hooked module loading.
await runService({
  name: 'worker',
  loadConfig: loadWorkerConfig,
  start: async (config, logger, shutdown) => {
    const { startWorkerProcess } = await import('./worker-process.js');
    await startWorkerProcess(config, logger, shutdown);
  },
});
