export { DistributedLocks, type AcquireOptions, type Lock, type WithLockOptions } from './distributed-lock.js';
export { LockLostError, LockTimeoutError } from './errors.js';
export { GroupMembership, type Capabilities, type GroupKeys, type JoinOptions, type Member, type MembershipHandle } from './group-membership.js';
export { MembershipWatcher, type MembershipEvents, type WatchOptions } from './membership-watcher.js';
export { HashRing } from './hash-ring.js';
export { Partitioner, type PartitionerEvents } from './partitioner.js';
