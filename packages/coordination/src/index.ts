export { DistributedLocks, type AcquireOptions, type WithLockOptions } from './distributed-locks.js';
export type { Lock } from './held-lock.js';
export { LockLostError, LockTimeoutError } from './errors.js';
export type { Capabilities } from './capabilities.js';
export {
  GroupMembership,
  type CapabilitiesSource,
  type GroupKeys,
  type JoinOptions,
  type Member,
  type MembershipHandle,
} from './group-membership.js';
export { MembershipWatcher, type MembershipEvents, type WatchOptions } from './membership-watcher.js';
export { HashRing, type RingMember } from './hash-ring.js';
export { Partitioner, type PartitionerEvents } from './partitioner.js';
export { processCapabilities } from './process-capabilities.js';
export { ProcessVitals, type VitalCapabilities } from './process-vitals.js';
