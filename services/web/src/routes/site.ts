import express, { Router, type RequestHandler } from 'express';
import { ARTICLE_LIST_TAG, articleTag, commentInput, renderArticlePage, renderHome } from '@flotilla/articles';
import { cacheTags } from '../page-cache/page-cache.js';
import { HttpProblem } from '../problems.js';
import { articleIdOf } from './article-id.js';
import type { ContentDeps } from './content-deps.js';
import { postComment } from './post-comment.js';
import { validateBody } from './validate-body.js';

const HOME_SIZE = 20;
// Browsers keep pages but revalidate every time: with the ETag that is a cheap 304.
const PAGE_CACHE_CONTROL = 'public, max-age=0, must-revalidate';

/**
 * The server-rendered pages of the example domain, full-page cached when the cache is on. Pages
 * not served from this process's memory count against the client's request limit (`limit`,
 * shared with the API), so a flood of cache-busting URLs is bounded like any other.
 */
export function siteRoutes(deps: ContentDeps, bodyLimitBytes: number, limit?: RequestHandler): Router {
  const router = Router();
  const { store, fragments } = deps;
  const cached = deps.pageCache?.middleware() ?? ((_req, _res, next) => next());
  const form = express.urlencoded({ limit: bodyLimitBytes, extended: false });
  // The router sees every request that reaches it; only the site's own paths are counted here.
  if (limit)
    router.use((req, res, next) =>
      req.path === '/' || req.path.startsWith('/articles/') ? limit(req, res, next) : next(),
    );

  router.get('/', cached, async (_req, res) => {
    const summaries = await store.list(HOME_SIZE);
    const ids = summaries.map((s) => s.id);
    // Cards come from the fragment cache in one round trip; the page depends on each article shown.
    const [cards, mostDiscussed] = await Promise.all([fragments.cards(ids), fragments.mostDiscussed()]);
    cacheTags(res, [ARTICLE_LIST_TAG, ...ids.map(articleTag)]);
    res.set('cache-control', PAGE_CACHE_CONTROL).type('html').send(renderHome(cards, mostDiscussed));
  });

  router.get('/articles/:id', cached, async (req, res) => {
    const id = articleIdOf(req);
    const [article, comments] = await Promise.all([store.get(id), store.comments(id)]);
    if (!article) throw new HttpProblem('article-not-found', 'there is no article with this id');
    cacheTags(res, [articleTag(id)]);
    res.set('cache-control', PAGE_CACHE_CONTROL).type('html').send(renderArticlePage(article, comments));
  });

  // The page's HTML form; scripts use POST /api/articles/:id/comments.
  router.post('/articles/:id/comments', form, async (req, res) => {
    const id = articleIdOf(req);
    if (!req.is('application/x-www-form-urlencoded')) {
      throw new HttpProblem('unsupported-media-type', 'expected a form (application/x-www-form-urlencoded)');
    }
    const comment = await postComment(deps, id, validateBody(commentInput, req.body, 'comment'));
    res.redirect(303, `/articles/${id}#comment-${comment.id}`);
  });

  return router;
}
