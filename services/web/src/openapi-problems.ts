import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { PROBLEMS, problemType, type ProblemCode } from './problems.js';

const Problem = z
  .object({
    type: z.string().describe('urn:flotilla:problem:<code>'),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().optional().describe('The request URL, when the request could be read'),
    errors: z
      .array(z.object({ pointer: z.string(), detail: z.string() }))
      .optional()
      .describe('The fields that are wrong'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

/** The responses of the given problem codes, merged per status. */
export function problems(...codes: ProblemCode[]): Record<number, ResponseConfig> {
  const out: Record<number, ResponseConfig> = {};
  for (const code of codes) {
    const { status, title } = PROBLEMS[code];
    const previous = out[status];
    out[status] = {
      description: previous
        ? `${previous.description}; ${title} (${problemType(code)})`
        : `${title} (${problemType(code)})`,
      content: { 'application/problem+json': { schema: Problem } },
    };
  }
  return out;
}
