import type { Request } from 'express';
import { HttpProblem } from '../problems.js';

/** The article id from the path; anything that is not a positive whole number is not found. */
export function articleIdOf(req: Request): number {
  const raw = req.params['id'];
  if (typeof raw !== 'string' || !/^[1-9]\d{0,9}$/.test(raw))
    throw new HttpProblem('article-not-found', 'there is no article with this id');
  return Number(raw);
}

/** The strong ETag of an article's JSON representation, which is a function of its version. */
export function articleEtag(id: number, version: number): string {
  return `"article-${id}-v${version}"`;
}
