import { JobCatalog } from '@flotilla/queue';
import { checkUrlJob } from './contracts/check-url.js';
import { digestJob } from './contracts/digest.js';
import { fibJob } from './contracts/fib.js';
import { flakyJob } from './contracts/flaky.js';
import { moderateCommentJob } from './contracts/moderate-comment.js';
import { refreshFragmentJob } from './contracts/refresh-fragment.js';
import { sleepJob } from './contracts/sleep.js';
import { spinJob } from './contracts/spin.js';
import { tallyJob } from './contracts/tally.js';
import { urlCheckReportJob } from './contracts/url-check-report.js';
import { backgroundQueue, cpuQueue, defaultQueue, outboundQueue } from './queues.js';

/** Every queue and job type of the application; web and worker both build from this. */
export const catalog = new JobCatalog(
  [defaultQueue, cpuQueue, backgroundQueue, outboundQueue],
  [
    fibJob,
    sleepJob,
    flakyJob,
    digestJob,
    refreshFragmentJob,
    moderateCommentJob,
    checkUrlJob,
    urlCheckReportJob,
    tallyJob,
    spinJob,
  ],
);
