import { articleTag, type Comment, type CommentInput } from '@flotilla/articles';
import { moderateCommentJob } from '@flotilla/jobs';
import { HttpProblem } from '../problems.js';
import type { ContentDeps } from './content-deps.js';

/**
 * Publishes a comment, drops the cached pages that show its article, and queues its moderation.
 * If the job cannot be queued the comment is taken back, so no comment escapes moderation.
 */
export async function postComment(deps: ContentDeps, articleId: number, input: CommentInput): Promise<Comment> {
  const comment = await deps.store.addComment(articleId, input);
  if (!comment) throw new HttpProblem('article-not-found', 'there is no article with this id');
  try {
    await deps.producer.enqueue(moderateCommentJob.name, { articleId, commentId: comment.id });
  } catch (error) {
    await deps.store.removeComment(articleId, comment.id);
    throw error;
  }
  await deps.invalidate([articleTag(articleId)]);
  return comment;
}
