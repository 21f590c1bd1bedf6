import type { AnyJobContract } from './job-contract.js';
import type { QueueDefinition } from './queue-definition.js';

/**
 * The declared queues and job types of an application. Built once at start-up from the same
 * module in web and worker, so both sides agree on every name.
 */
export class JobCatalog {
  private readonly byName = new Map<string, AnyJobContract>();
  private readonly queuesByName = new Map<string, QueueDefinition>();

  constructor(queues: readonly QueueDefinition[], contracts: readonly AnyJobContract[]) {
    for (const queue of queues) {
      if (this.queuesByName.has(queue.name)) throw new Error(`queue "${queue.name}" is declared twice`);
      this.queuesByName.set(queue.name, queue);
    }
    for (const contract of contracts) {
      if (this.byName.has(contract.name)) throw new Error(`job type "${contract.name}" is declared twice`);
      if (!this.queuesByName.has(contract.queue)) {
        throw new Error(`job type "${contract.name}" names queue "${contract.queue}", which is not declared`);
      }
      this.byName.set(contract.name, contract);
    }
  }

  /** Every queue, in declaration order. */
  get queues(): readonly QueueDefinition[] {
    return [...this.queuesByName.values()];
  }

  /** Every job type, in declaration order. */
  get contracts(): readonly AnyJobContract[] {
    return [...this.byName.values()];
  }

  /** The job types clients may submit over the HTTP API. */
  get publicContracts(): readonly AnyJobContract[] {
    return this.contracts.filter((c) => c.internal !== true);
  }

  /** The contract of a job type, or undefined for an unknown name. */
  contract(name: string): AnyJobContract | undefined {
    return this.byName.get(name);
  }

  /** A queue by name, or undefined. */
  queue(name: string): QueueDefinition | undefined {
    return this.queuesByName.get(name);
  }

  /** The job types that run on one queue. */
  contractsOn(queue: string): readonly AnyJobContract[] {
    return this.contracts.filter((c) => c.queue === queue);
  }
}
