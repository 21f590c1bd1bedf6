import { createHash } from 'node:crypto';
import { digestJob, type fibJob } from '@flotilla/jobs';
import { defineHandler, type ResultOf } from '@flotilla/queue';

type FibResult = ResultOf<typeof fibJob>;

export const digestHandler = defineHandler(digestJob, async ({ ns }, context) => {
  const children = Object.values(await context.childResults()) as FibResult[];
  const valueOf = new Map(children.map((child) => [child.n, child.value]));
  const values = ns.map((n) => {
    const value = valueOf.get(n);
    // The flow only releases this job when every child completed, so a gap is a bug worth retrying.
    if (value === undefined) throw new Error(`digest: no result for child fib(${n})`);
    return value;
  });
  return {
    count: values.length,
    totalDigits: values.reduce((sum, v) => sum + v.length, 0),
    sha256: createHash('sha256').update(values.join('\n')).digest('hex'),
  };
});
