import express, { Router } from 'express';
import { ARTICLE_LIST_TAG, articleInput, articleTag, commentInput, type Article } from '@flotilla/articles';
import { ifNoneMatchHits } from '../page-cache/conditional.js';
import { HttpProblem } from '../problems.js';
import { articleEtag, articleIdOf } from './article-id.js';
import type { ContentDeps } from './content-deps.js';
import { postComment } from './post-comment.js';
import { requireJson } from './request-checks.js';
import { validateBody } from './validate-body.js';

const LIST_LIMIT = 100;

/** The JSON API of the example domain, with ETags and optimistic concurrency. */
export function articleApiRoutes(deps: ContentDeps, bodyLimitBytes: number): Router {
  const router = Router();
  const json = express.json({ limit: bodyLimitBytes, strict: false, type: ['application/json', 'application/*+json'] });
  const { store } = deps;

  router.get('/api/articles', async (_req, res) => {
    res.set('cache-control', 'no-cache').json({ articles: await store.list(LIST_LIMIT) });
  });

  router.post('/api/articles', requireJson, json, async (req, res) => {
    const input = validateBody(articleInput, req.body, 'article');
    const article = await store.create(input);
    await deps.invalidate([ARTICLE_LIST_TAG]);
    res
      .status(201)
      .location(`/api/articles/${article.id}`)
      .set('etag', articleEtag(article.id, article.version))
      .json(article);
  });

  router.get('/api/articles/:id', async (req, res) => {
    const article = found(await store.get(articleIdOf(req)));
    const etag = articleEtag(article.id, article.version);
    // no-cache: clients keep a copy but revalidate it, which costs them a 304 at most.
    res.set({ etag, 'cache-control': 'no-cache' });
    if (ifNoneMatchHits(req.get('if-none-match'), etag)) {
      res.status(304).end();
      return;
    }
    res.json(article);
  });

  router.put('/api/articles/:id', requireJson, json, async (req, res) => {
    const id = articleIdOf(req);
    const expected = expectedVersion(id, req.get('if-match'));
    const input = validateBody(articleInput, req.body, 'article');
    const result = await store.update(id, input, expected);
    switch (result.outcome) {
      case 'not-found':
        throw new HttpProblem('article-not-found', 'there is no article with this id');
      case 'precondition-failed':
        throw new HttpProblem(
          'precondition-failed',
          'the article changed since this ETag was read; GET it again and retry',
        );
      case 'updated':
        await deps.invalidate([articleTag(id)]);
        res.set('etag', articleEtag(id, result.article.version)).json(result.article);
    }
  });

  router.get('/api/articles/:id/comments', async (req, res) => {
    const id = articleIdOf(req);
    found(await store.get(id));
    res.set('cache-control', 'no-cache').json({ comments: await store.comments(id) });
  });

  router.post('/api/articles/:id/comments', requireJson, json, async (req, res) => {
    const id = articleIdOf(req);
    const input = validateBody(commentInput, req.body, 'comment');
    const comment = await postComment(deps, id, input);
    res.status(201).location(`/api/articles/${id}/comments`).json(comment);
  });

  return router;
}

function found(article: Article | undefined): Article {
  if (!article) throw new HttpProblem('article-not-found', 'there is no article with this id');
  return article;
}

/**
 * The version an If-Match header pins. Writes to articles must say which version they replace
 * (428 without), so a client never overwrites a change it has not seen.
 */
function expectedVersion(id: number, header: string | undefined): number | '*' {
  if (header === undefined) {
    throw new HttpProblem('precondition-required', 'send If-Match with the ETag you read (or *)', [
      { pointer: 'If-Match', detail: 'required' },
    ]);
  }
  if (header.trim() === '*') return '*';
  const prefix = `"article-${id}-v`;
  for (const candidate of header.split(',')) {
    const tag = candidate.trim();
    // A weak tag never matches for If-Match (RFC 9110 §13.1.1 uses the strong comparison).
    if (tag.startsWith(prefix) && tag.endsWith('"')) {
      const version = tag.slice(prefix.length, -1);
      if (/^[1-9]\d{0,9}$/.test(version)) return Number(version);
    }
  }
  throw new HttpProblem('precondition-failed', 'If-Match does not name a current version of this article');
}
