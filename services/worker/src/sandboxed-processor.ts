// Loaded by BullMQ inside a worker thread for queues declared `sandboxed`.
import { catalog } from '@flotilla/jobs';
import { createJobProcessor } from '@flotilla/queue';
import { selfContainedHandlers } from './handlers/index.js';

const sandboxedQueues = catalog.queues.filter((q) => q.processor === 'sandboxed').map((q) => q.name);

export default createJobProcessor(catalog, sandboxedQueues, selfContainedHandlers);
