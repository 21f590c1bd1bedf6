import type { Cache } from '@flotilla/cache';

/** Invalidates content tags in every cache that may hold something depending on them. */
export type TagInvalidator = (tags: readonly string[]) => Promise<void>;

/**
 * One invalidation for all of a process's caches: pages and fragments keep their own tag
 * generations (each cache is its own key space), and a change must reach both.
 */
export function tagInvalidator(caches: readonly Pick<Cache<never>, 'invalidateTags'>[]): TagInvalidator {
  return async (tags) => {
    await Promise.all(caches.map((cache) => cache.invalidateTags(tags)));
  };
}
