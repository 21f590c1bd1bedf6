export { startBenchRedis, type BenchRedis } from './bench-redis.js';
export { median } from './median.js';
export { measureHttp, type HttpLoadOptions, type HttpLoadResult } from './http-load.js';
export { printEnvironment, printTable, type Metric, type ResultTable, type VariantResult } from './print-results.js';
export { runConcurrently } from './run-concurrently.js';
export { pinToCpu } from './cpu-pinning.js';
export { processRssMiB } from './process-rss.js';
export { processCpuSeconds, withCpu } from './process-cpu.js';
export { startOtlpSink, type OtlpReceived, type OtlpSink } from './otlp-sink.js';
export {
  EVERY_TRACE,
  NOTHING_SAMPLED,
  TELEMETRY_OFF,
  TELEMETRY_OFF_AGAIN,
  TRACING_ON,
  type TracingMode,
} from './tracing-modes.js';
export { addSleepJobs, drained, pausedSleepJobs } from './sleep-jobs.js';
export { CALLGRIND_NODE_ARGS } from './callgrind-node-args.js';
export { hasWrk, measureWrk, type WrkOptions, type WrkResult } from './wrk-load.js';
export { flotillaSleepJobOptions } from './flotilla-job-options.js';
export { cacheArticlePage } from './cached-article.js';
