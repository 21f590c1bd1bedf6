import { fibJob } from '@flotilla/jobs';
import { defineHandler } from '@flotilla/queue';

/** fib(n) by plain iteration over big integers: deliberately CPU-bound, O(n) additions. */
export function fibonacci(n: number): bigint {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

export const fibHandler = defineHandler(fibJob, ({ n }) => {
  const value = fibonacci(n).toString();
  return { n, digits: value.length, value };
});
