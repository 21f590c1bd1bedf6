import { LuaScript, type RedisClient } from '@flotilla/redis';
import type { CheckResult } from './url-checker.js';

/** The latest check of a URL and who made it. */
export interface CheckRecord extends CheckResult {
  readonly checkedBy: string;
  readonly checkedAt: string;
  /** The round it belonged to: floor(epoch seconds / interval). */
  readonly period: number;
}

/** The summary of one finished round. */
export interface RoundReport {
  readonly period: number;
  readonly targets: number;
  readonly checked: number;
  readonly up: number;
  readonly unchecked: number;
  readonly reportedAt: string;
}

/** Target count above which additions are refused: a round must fit in its period. */
export const MAX_TARGETS = 1000;
const KEPT_REPORTS = 100;

// KEYS: targets. ARGV: max, urls… Adds all or none, so a refused request changes nothing.
const addScript = new LuaScript(`
local new = 0
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then new = new + 1 end
end
if redis.call('SCARD', KEYS[1]) + new > tonumber(ARGV[1]) then return -1 end
if #ARGV > 1 then redis.call('SADD', KEYS[1], unpack(ARGV, 2)) end
return new`);

// KEYS: claims of the period. ARGV: url, member, ttl ms. The first claimant of a URL in a
// period checks it; everyone else skips it.
const claimScript = new LuaScript(`
local won = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if won == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return won`);

/**
 * The Redis side of the partitioned URL check: the target list, one claim per URL and round (so
 * a URL is checked once per round even while workers disagree for a moment about who owns it),
 * the latest result per URL, and a report per finished round. Every key shares one hash tag.
 */
export class UrlCheckStore {
  readonly #redis: RedisClient;
  readonly #base: string;

  /** `prefix` starts every key, e.g. `flotilla:data:`. */
  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#base = `${prefix}{url-checks}`;
  }

  /** Adds targets; resolves the number new, or -1 (and adds nothing) past MAX_TARGETS. */
  async addTargets(urls: readonly string[]): Promise<number> {
    return Number(await addScript.run(this.#redis, [`${this.#base}:targets`], [MAX_TARGETS, ...urls]));
  }

  async removeTargets(urls: readonly string[]): Promise<number> {
    if (urls.length === 0) return 0;
    const removed = await this.#redis.srem(`${this.#base}:targets`, ...urls);
    await this.#redis.hdel(`${this.#base}:latest`, ...urls);
    return removed;
  }

  async targets(): Promise<string[]> {
    return (await this.#redis.smembers(`${this.#base}:targets`)).sort();
  }

  /** Claims `url` for `member` in `period`; false when another member already has it. */
  async claim(period: number, url: string, member: string, ttlMs: number): Promise<boolean> {
    return Number(await claimScript.run(this.#redis, [this.#claimsKey(period)], [url, member, Math.ceil(ttlMs)])) === 1;
  }

  /** Who checked which URL in `period`. */
  async claims(period: number): Promise<Record<string, string>> {
    return await this.#redis.hgetall(this.#claimsKey(period));
  }

  async record(result: CheckRecord): Promise<void> {
    await this.#redis.hset(`${this.#base}:latest`, result.url, JSON.stringify(result));
  }

  /** The latest result per URL. */
  async latest(): Promise<Record<string, CheckRecord>> {
    const raw = await this.#redis.hgetall(`${this.#base}:latest`);
    return Object.fromEntries(Object.entries(raw).map(([url, json]) => [url, JSON.parse(json) as CheckRecord]));
  }

  /** Writes the report of `period` unless one exists; resolves the report that is stored. */
  async report(period: number): Promise<RoundReport> {
    const [targets, claims, latest] = await Promise.all([this.targets(), this.claims(period), this.latest()]);
    const report: RoundReport = {
      period,
      targets: targets.length,
      checked: Object.keys(claims).length,
      up: targets.filter((url) => latest[url]?.period === period && latest[url].outcome === 'up').length,
      unchecked: targets.filter((url) => !(url in claims)).length,
      reportedAt: new Date().toISOString(),
    };
    const key = `${this.#base}:reports`;
    // A retried report job must not count the round twice.
    if (!(await this.#redis.hsetnx(key, String(period), JSON.stringify(report)))) {
      const existing = await this.#redis.hget(key, String(period));
      return existing ? (JSON.parse(existing) as RoundReport) : report;
    }
    const old = (await this.#redis.hkeys(key))
      .map(Number)
      .sort((a, b) => b - a)
      .slice(KEPT_REPORTS);
    if (old.length > 0) await this.#redis.hdel(key, ...old.map(String));
    return report;
  }

  /** The latest reports, newest first. */
  async reports(count: number): Promise<RoundReport[]> {
    const all = Object.values(await this.#redis.hgetall(`${this.#base}:reports`)).map(
      (json) => JSON.parse(json) as RoundReport,
    );
    return all.sort((a, b) => b.period - a.period).slice(0, count);
  }

  #claimsKey(period: number): string {
    return `${this.#base}:claims:${period}`;
  }
}
