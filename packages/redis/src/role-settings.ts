import type { RedisOptions } from 'ioredis';
import type { RedisConnectionOptions } from './redis-connection-options.js';

/** The ioredis options a role decides, in the shape both Redis and Cluster node options accept. */
export interface RoleSettings {
  readonly enableOfflineQueue: boolean;
  readonly nodeOptions: Pick<
    RedisOptions,
    | 'connectTimeout'
    | 'enableReadyCheck'
    | 'keepAlive'
    | 'maxRetriesPerRequest'
    | 'commandTimeout'
    | 'reconnectOnError'
    | 'protocol'
    | 'connectionName'
  >;
  readonly retryStrategy: (attempt: number) => number;
}

const PRODUCER_COMMAND_TIMEOUT_MS = 5_000;
const RECONNECT_BASE_MS = 50;
const RECONNECT_CAP_MS = 2_000;
// Kept short so a black-holed address (dropped SYN, dead VPC peer) turns into a retry
// quickly instead of pinning a connection attempt for ioredis's default 10 s.
const CONNECT_TIMEOUT_MS = 5_000;
// Below typical NAT / load-balancer idle timeouts, so a dead peer is noticed and replaced.
const KEEP_ALIVE_MS = 10_000;
const CONNECTION_NAME = /^[\x21-\x7e]+$/;

/** Checks the options and turns the role into ioredis settings. */
export function roleSettings(options: RedisConnectionOptions): RoleSettings {
  const { role, connectionName, commandTimeoutMs } = options;
  if (role !== 'producer' && role !== 'consumer' && role !== 'subscriber') {
    throw new TypeError(`Redis role must be producer, consumer or subscriber, got ${String(role)}`);
  }
  // Redis rejects such names and ioredis ignores that error, so it would vanish silently.
  if (connectionName !== undefined && !CONNECTION_NAME.test(connectionName)) {
    throw new TypeError(
      `Redis connectionName must be printable ASCII without spaces, got ${JSON.stringify(connectionName)}`,
    );
  }
  if (commandTimeoutMs !== undefined && !(Number.isInteger(commandTimeoutMs) && commandTimeoutMs > 0)) {
    throw new TypeError(`Redis commandTimeoutMs must be a positive integer, got ${commandTimeoutMs}`);
  }
  const producer = role === 'producer';
  const commandTimeout = commandTimeoutMs ?? (producer ? PRODUCER_COMMAND_TIMEOUT_MS : undefined);
  return {
    // A producer with an offline queue would park an HTTP request's commands for as long as
    // Redis is down; without it they fail at once and the request can answer 503.
    enableOfflineQueue: !producer,
    nodeOptions: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      enableReadyCheck: true,
      keepAlive: KEEP_ALIVE_MS,
      // A producer's in-flight command survives one reconnect attempt, then fails. BullMQ
      // requires null on blocking connections: a job fetch must wait out an outage.
      maxRetriesPerRequest: producer ? 1 : null,
      reconnectOnError: reconnectOnReadOnly,
      // ioredis 6 defaults to RESP3 with RESP2-shaped replies. BullMQ 6 passed a smoke run on
      // RESP3, but it supports ioredis 5 (RESP2 only) and is tested there, ioredis pins its
      // own cluster slot refresher to RESP2, and Flotilla uses nothing RESP3-only: RESP2 is
      // the protocol all of them are proven on.
      protocol: 2,
      ...(commandTimeout !== undefined ? { commandTimeout } : {}),
      ...(connectionName !== undefined ? { connectionName } : {}),
    },
    retryStrategy: reconnectDelay,
  };
}

/**
 * Capped exponential backoff with jitter, never giving up: Redis coming back is the only way
 * a stateless process recovers, and the jitter keeps many replicas from reconnecting in step.
 */
function reconnectDelay(attempt: number): number {
  const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt - 1, 16));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * After a failover the old master is a replica and answers writes with READONLY; reconnecting
 * reaches the new master (through Sentinel or DNS), and 2 resends the rejected command there.
 */
function reconnectOnReadOnly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}
