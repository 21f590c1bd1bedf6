import type { z } from 'zod';
import { HttpProblem } from '../problems.js';

/** The body parsed by `schema`, or a 422 naming every invalid field as a JSON pointer. */
export function validateBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new HttpProblem(
    'validation-failed',
    `the ${what} is invalid`,
    parsed.error.issues.map((issue) => ({ pointer: `#/${issue.path.map(String).join('/')}`, detail: issue.message })),
  );
}
