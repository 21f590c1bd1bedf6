export {
  defineJob,
  childJob,
  jobTimeoutMs,
  DEFAULT_JOB_TIMEOUT_MS,
  type JobContract,
  type AnyJobContract,
  type InputOf,
  type ResultOf,
  type RetryPolicy,
  type ChildJob,
} from './job-contract.js';
export { defineQueue, type QueueDefinition } from './queue-definition.js';
export { JobCatalog } from './job-catalog.js';
export { newJobId, idempotentJobId, childJobId, queueOfJobId, parseJobId, type JobAddress } from './job-ids.js';
export { QueueShards, type QueueShard } from './queue-shards.js';
export {
  UnknownJobTypeError,
  JobInputError,
  IdempotencyConflictError,
  JobTimeoutError,
  QueueFullError,
} from './errors.js';
export { type RetentionPolicy } from './retention.js';
export { isFinished, type JobView, type JobStateName } from './job-view.js';
export {
  JobProducer,
  type JobProducerOptions,
  type EnqueueOptions,
  type EnqueueResult,
  type CancelOutcome,
} from './job-producer.js';
export {
  JobEventHub,
  REPLAY_SCAN_LIMIT,
  isTerminalEvent,
  compareStreamIds,
  type JobEvent,
  type JobEventHubOptions,
} from './job-event-hub.js';
export {
  createJobProcessor,
  defineHandler,
  type JobHandler,
  type JobContext,
  type BoundHandler,
  type ProcessableJob,
} from './job-processor.js';
export { ensureIdempotencySecret } from './idempotency-secret.js';
export { checkEvictionPolicy } from './check-eviction-policy.js';
export { snapshotQueue, SNAPSHOT_STATES, type QueueSnapshot } from './queue-snapshot.js';
export {
  ThroughputRecorder,
  readQueueOverview,
  readQueueThroughput,
  type ThroughputRecorderOptions,
  type FinishedOutcome,
  type QueueOverview,
  type QueueThroughput,
} from './queue-throughput.js';
export { JobAdmin, type ListableState, type JobPage, type RetryOutcome } from './job-admin.js';
export { joinQueueEpoch } from './queue-epoch.js';
export { isFinalFailure } from './final-failure.js';
export { ConsumerWorker, type ConsumerWorkerOptions } from './consumer-worker.js';
export { consumerStall } from './consumer-liveness.js';
