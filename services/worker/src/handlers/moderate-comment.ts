import { articleTag, spamReasons, type ArticleStore, type TagInvalidator } from '@flotilla/articles';
import { moderateCommentJob } from '@flotilla/jobs';
import { defineHandler, type BoundHandler } from '@flotilla/queue';

/** What comment moderation needs. */
export interface ModerationDeps {
  readonly store: ArticleStore;
  readonly invalidate: TagInvalidator;
}

/** Removes spam comments after publication and drops every cached page that showed them. */
export function moderateCommentHandler({ store, invalidate }: ModerationDeps): BoundHandler {
  return defineHandler(moderateCommentJob, async ({ articleId, commentId }) => {
    const comment = await store.comment(articleId, commentId);
    if (!comment) {
      // A retry after the removal: invalidate again in case the first attempt stopped in between.
      await invalidate([articleTag(articleId)]);
      return { verdict: 'gone' as const, reasons: [] };
    }
    const reasons = spamReasons(comment.text);
    if (reasons.length === 0) return { verdict: 'kept' as const, reasons };
    await store.removeComment(articleId, commentId);
    await invalidate([articleTag(articleId)]);
    return { verdict: 'removed' as const, reasons };
  });
}
