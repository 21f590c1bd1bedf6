/**
 * Whether the job a BullMQ 'failed' event reports has failed for good: BullMQ marks a job
 * finished only when no attempt follows (attempts used up, or an unrecoverable error).
 */
export function isFinalFailure(job: { readonly finishedOn?: number | null | undefined }): boolean {
  return Boolean(job.finishedOn);
}
