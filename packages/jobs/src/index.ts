export { catalog } from './catalog.js';
export { defaultQueue, cpuQueue, backgroundQueue } from './queues.js';
export { fibJob } from './contracts/fib.js';
export { sleepJob } from './contracts/sleep.js';
export { flakyJob } from './contracts/flaky.js';
export { digestJob } from './contracts/digest.js';
export { refreshFragmentJob } from './contracts/refresh-fragment.js';
export { moderateCommentJob } from './contracts/moderate-comment.js';
