/**
 * Redis keys of the example domain. An article's hash and its comments share the hash tag
 * `{article:<id>}`, so the scripts that touch both stay in one Redis Cluster slot.
 */
export class ArticleKeys {
  constructor(private readonly prefix: string) {}

  article(id: number): string {
    return `${this.prefix}{article:${id}}`;
  }

  comments(id: number): string {
    return `${this.prefix}{article:${id}}:comments`;
  }

  /** Sorted set of article ids by creation time. */
  index(): string {
    return `${this.prefix}articles`;
  }

  /** Set once, by the replica that seeds the sample articles. */
  seeded(): string {
    return `${this.prefix}seeded`;
  }

  sequence(): string {
    return `${this.prefix}article-seq`;
  }
}
