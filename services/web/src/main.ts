import cluster from 'node:cluster';
import { loadWebConfig } from '@flotilla/config';
import { runService } from '@flotilla/lifecycle';

// Only modules that load none of the traced libraries are imported statically: express, ioredis
// and bullmq must first load after tracing has hooked module loading.
await runService({
  name: 'web',
  loadConfig: loadWebConfig,
  // With WEB_CONCURRENCY > 1 the primary only supervises; each forked process runs this file again.
  supervise: async (config, logger) => {
    if (config.webConcurrency <= 1 || !cluster.isPrimary) return false;
    const { runClusterPrimary } = await import('./cluster-primary.js');
    runClusterPrimary(config, logger);
    return true;
  },
  start: async (config, logger, shutdown) => {
    const { startWebProcess } = await import('./web-process.js');
    await startWebProcess(config, logger, shutdown);
  },
});
