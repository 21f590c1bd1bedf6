import { z } from 'zod';

// Each article and comment is bounded in size here (about 20 KB and 2 KB); how many a client can
// add is bounded only by the request limit, which suits the example and not a public site.

/** What a client sends to create or replace an article. */
export const articleInput = z.strictObject({
  title: z.string().trim().min(1).max(200).describe('Headline'),
  body: z.string().trim().min(1).max(20_000).describe('Plain text; paragraphs separated by blank lines'),
});

/** What a client sends to comment on an article. */
export const commentInput = z.strictObject({
  author: z.string().trim().min(1).max(80).describe('Display name'),
  text: z.string().trim().min(1).max(2_000).describe('Plain text'),
});

/** Validated article input. */
export type ArticleInput = z.output<typeof articleInput>;
/** Validated comment input. */
export type CommentInput = z.output<typeof commentInput>;

/** An article as stored and served by the JSON API (comments are a resource of their own). */
export const article = z
  .object({
    id: z.int().min(1),
    title: z.string(),
    body: z.string(),
    version: z.int().min(1).describe('Increases with every change; the ETag is derived from it'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Article' });

/** A stored article. */
export type Article = z.output<typeof article>;

/** A comment on an article. */
export const comment = z
  .object({
    id: z.int().min(1),
    articleId: z.int().min(1),
    author: z.string(),
    text: z.string(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Comment' });

/** A stored comment. */
export type Comment = z.output<typeof comment>;

/** An article with its comment count, as lists and cards show it. */
export interface ArticleSummary {
  readonly id: number;
  readonly title: string;
  readonly excerpt: string;
  readonly commentCount: number;
  readonly updatedAt: string;
}
