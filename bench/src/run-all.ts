/** Runs every benchmark in turn; each starts and stops its own private Redis. */
import { runCacheTiers } from './cache-tiers.js';
import { runHttpSubmit } from './http-submit.js';
import { runJobLatency } from './job-latency.js';
import { runJobThroughput } from './job-throughput.js';
import { runPageCache } from './page-cache.js';
import { runProfileOverhead } from './profile-overhead.js';
import { runTelemetryOverhead } from './telemetry-overhead.js';

await runJobThroughput();
await runHttpSubmit();
await runJobLatency();
await runPageCache();
await runCacheTiers();
await runTelemetryOverhead();
await runProfileOverhead();
