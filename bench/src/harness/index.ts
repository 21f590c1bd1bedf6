export { startBenchRedis, type BenchRedis } from './bench-redis.js';
export { median } from './median.js';
export { measureHttp, type HttpLoadOptions, type HttpLoadResult } from './http-load.js';
export { printEnvironment, printTable, type Metric, type ResultTable, type VariantResult } from './print-results.js';
export { runConcurrently } from './run-concurrently.js';
export { pinToCpu } from './cpu-pinning.js';
export { processRssMiB } from './process-rss.js';
export { processCpuSeconds } from './process-cpu.js';
export { startOtlpSink } from './otlp-sink.js';
