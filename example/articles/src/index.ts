export {
  articleInput,
  commentInput,
  article,
  comment,
  type Article,
  type ArticleInput,
  type ArticleSummary,
  type Comment,
  type CommentInput,
} from './schemas.js';
export { ArticleStore, type ArticleStoreOptions, type UpdateOutcome } from './article-store.js';
export {
  ArticleFragments,
  articleTag,
  ARTICLE_LIST_TAG,
  type ArticleFragmentsOptions,
  type FragmentTimings,
  type RefreshableFragment,
} from './article-fragments.js';
export { renderLayout, renderHome, renderArticlePage } from './html.js';
export { spamReasons } from './spam-check.js';
export { sampleArticles } from './sample-articles.js';
export { tagInvalidator, type TagInvalidator } from './tag-invalidator.js';
