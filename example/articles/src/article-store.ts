import type { RedisClient } from '@flotilla/redis';
import { ArticleKeys } from './article-keys.js';
import type { Article, ArticleInput, ArticleSummary, Comment, CommentInput } from './schemas.js';

/** What `update` did; a version mismatch changes nothing. */
export type UpdateOutcome =
  | { readonly outcome: 'updated'; readonly article: Article }
  | { readonly outcome: 'precondition-failed' | 'not-found' };

// Optimistic concurrency must be atomic: compare the version and write in one step, so two
// writers holding the same ETag cannot both win.
const UPDATE_IF_VERSION = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local version = tonumber(redis.call('HGET', KEYS[1], 'version'))
if ARGV[1] ~= '*' and tostring(version) ~= ARGV[1] then return -2 end
redis.call('HSET', KEYS[1], 'title', ARGV[2], 'body', ARGV[3], 'updatedAt', ARGV[4], 'version', version + 1)
return version + 1`;

// The count on the article and the comment itself change together or not at all.
const ADD_COMMENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local id = redis.call('HINCRBY', KEYS[1], 'commentSeq', 1)
redis.call('HINCRBY', KEYS[1], 'commentCount', 1)
redis.call('HSET', KEYS[2], id, ARGV[1])
return id`;

const REMOVE_COMMENT = `
if redis.call('HDEL', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'commentCount', -1)
  return 1
end
return 0`;

const EXCERPT_LENGTH = 160;

/** Options of an article store. */
export interface ArticleStoreOptions {
  /** A connection to the queue Redis: content is data, so it lives where nothing is evicted. */
  readonly redis: RedisClient;
  /** Key prefix, e.g. `flotilla:data:`. */
  readonly prefix: string;
  readonly now?: () => Date;
}

/** The example domain's content: articles and their comments, kept in Redis hashes. */
export class ArticleStore {
  private readonly keys: ArticleKeys;
  private readonly redis: RedisClient;
  private readonly now: () => Date;

  constructor(options: ArticleStoreOptions) {
    this.redis = options.redis;
    this.keys = new ArticleKeys(options.prefix);
    this.now = options.now ?? (() => new Date());
  }

  async create(input: ArticleInput): Promise<Article> {
    const id = await this.redis.incr(this.keys.sequence());
    const at = this.now().toISOString();
    await this.redis.hset(this.keys.article(id), {
      id,
      title: input.title,
      body: input.body,
      version: 1,
      createdAt: at,
      updatedAt: at,
      commentCount: 0,
      commentSeq: 0,
    });
    // After the hash exists, so a listed id always resolves.
    await this.redis.zadd(this.keys.index(), Date.parse(at), String(id));
    return { id, title: input.title, body: input.body, version: 1, createdAt: at, updatedAt: at };
  }

  async get(id: number): Promise<Article | undefined> {
    const fields = await this.redis.hgetall(this.keys.article(id));
    return fields['id'] ? toArticle(fields) : undefined;
  }

  /**
   * Replaces an article's title and body when its version is still `expectedVersion` (or
   * unconditionally with '*'), atomically.
   */
  async update(id: number, input: ArticleInput, expectedVersion: number | '*'): Promise<UpdateOutcome> {
    const at = this.now().toISOString();
    const result = Number(
      await this.redis.eval(
        UPDATE_IF_VERSION,
        1,
        this.keys.article(id),
        String(expectedVersion),
        input.title,
        input.body,
        at,
      ),
    );
    if (result === -1) return { outcome: 'not-found' };
    if (result === -2) return { outcome: 'precondition-failed' };
    const updated = await this.get(id);
    if (!updated) return { outcome: 'not-found' };
    return { outcome: 'updated', article: updated };
  }

  /** Newest first. */
  async list(limit: number): Promise<ArticleSummary[]> {
    const ids = (await this.redis.zrevrange(this.keys.index(), 0, limit - 1)).map(Number);
    return await this.summaries(ids);
  }

  /** Summaries of the given articles, in order, skipping ids that do not exist; one round trip. */
  async summaries(ids: readonly number[]): Promise<ArticleSummary[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.keys.article(id), 'id', 'title', 'body', 'commentCount', 'updatedAt');
    const rows = (await pipeline.exec()) ?? [];
    const out: ArticleSummary[] = [];
    for (const [error, value] of rows) {
      if (error) throw error;
      const [id, title, body, commentCount, updatedAt] = value as (string | null)[];
      if (!id) continue;
      out.push({
        id: Number(id),
        title: title ?? '',
        excerpt: excerpt(body ?? ''),
        commentCount: Number(commentCount ?? 0),
        updatedAt: updatedAt ?? '',
      });
    }
    return out;
  }

  /** Every article id, newest first. */
  async ids(): Promise<number[]> {
    return (await this.redis.zrevrange(this.keys.index(), 0, -1)).map(Number);
  }

  /** Adds a comment; undefined when the article does not exist (nothing is written then). */
  async addComment(articleId: number, input: CommentInput): Promise<Comment | undefined> {
    const createdAt = this.now().toISOString();
    const stored = JSON.stringify({ author: input.author, text: input.text, createdAt });
    const id = Number(
      await this.redis.eval(ADD_COMMENT, 2, this.keys.article(articleId), this.keys.comments(articleId), stored),
    );
    if (id === -1) return undefined;
    return { id, articleId, author: input.author, text: input.text, createdAt };
  }

  /** Oldest first. */
  async comments(articleId: number): Promise<Comment[]> {
    const fields = await this.redis.hgetall(this.keys.comments(articleId));
    return Object.entries(fields)
      .map(([id, json]) => ({ id: Number(id), articleId, ...(JSON.parse(json) as Omit<Comment, 'id' | 'articleId'>) }))
      .sort((a, b) => a.id - b.id);
  }

  async comment(articleId: number, commentId: number): Promise<Comment | undefined> {
    const json = await this.redis.hget(this.keys.comments(articleId), String(commentId));
    return json ? { id: commentId, articleId, ...(JSON.parse(json) as Omit<Comment, 'id' | 'articleId'>) } : undefined;
  }

  /** Removes a comment; false when it was not there. */
  async removeComment(articleId: number, commentId: number): Promise<boolean> {
    const removed = await this.redis.eval(
      REMOVE_COMMENT,
      2,
      this.keys.article(articleId),
      this.keys.comments(articleId),
      String(commentId),
    );
    return Number(removed) === 1;
  }

  /**
   * Creates the given articles when the store has never been seeded; of several replicas
   * starting at once, exactly one does it. Returns how many it created.
   */
  async seedOnce(inputs: readonly ArticleInput[]): Promise<number> {
    const claimed = await this.redis.set(this.keys.seeded(), this.now().toISOString(), 'NX');
    if (claimed !== 'OK') return 0;
    for (const input of inputs) await this.create(input);
    return inputs.length;
  }
}

function toArticle(fields: Record<string, string>): Article {
  return {
    id: Number(fields['id']),
    title: fields['title'] ?? '',
    body: fields['body'] ?? '',
    version: Number(fields['version']),
    createdAt: fields['createdAt'] ?? '',
    updatedAt: fields['updatedAt'] ?? '',
  };
}

function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length <= EXCERPT_LENGTH ? flat : `${flat.slice(0, EXCERPT_LENGTH - 1).trimEnd()}…`;
}
