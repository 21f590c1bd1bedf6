import type { Partitioner } from '@flotilla/coordination';
import { traceBackgroundWork, type Logger } from '@flotilla/telemetry';
import type { UrlChecker, UrlCheckStore } from '@flotilla/url-checker';

/** The round a moment belongs to: rounds start at multiples of the interval since the epoch. */
export function periodAt(epochMs: number, intervalMs: number): number {
  return Math.floor(epochMs / intervalMs);
}

/** What the rounds need. */
export interface UrlCheckRoundsDeps {
  readonly store: UrlCheckStore;
  readonly checker: UrlChecker;
  readonly partitioner: Partitioner;
  readonly memberId: string;
  readonly intervalMs: number;
  readonly concurrency: number;
  readonly logger: Logger;
}

// Claims outlive a few rounds, long enough to be read back for reports and debugging.
const CLAIM_ROUNDS_KEPT = 10;

/**
 * Runs this worker's share of the URL check at the start of every round: the targets the hash
 * ring gives this worker among the live ones, each first claimed for the round in Redis so that
 * during a re-balance (views of the ring briefly disagree) no URL is checked twice in a round.
 * A round still running when the next starts makes that round skip this worker's turn.
 */
export function startUrlCheckRounds(deps: UrlCheckRoundsDeps): { stop(): Promise<void> } {
  const { intervalMs } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  // A trace per round: nothing else would trace the claims and the checks' HTTP calls.
  const round = (period: number): Promise<void> =>
    traceBackgroundWork('url-check round', async (annotate) => {
      annotate({ 'flotilla.url_check.period': period });
      const owned = deps.partitioner.ownedKeys(await deps.store.targets());
      const claimed: string[] = [];
      for (const url of owned) {
        if (await deps.store.claim(period, url, deps.memberId, intervalMs * CLAIM_ROUNDS_KEPT)) claimed.push(url);
      }
      const results = await deps.checker.checkAll(claimed, { concurrency: deps.concurrency });
      const checkedAt = new Date().toISOString();
      await Promise.all(
        results.map((result) => deps.store.record({ ...result, checkedBy: deps.memberId, checkedAt, period })),
      );
      annotate({ 'flotilla.url_check.owned': owned.length, 'flotilla.url_check.checked': claimed.length });
      deps.logger.debug(
        { period, workers: deps.partitioner.members(), owned: owned.length, checked: claimed.length },
        'url check round done',
      );
    });

  // A round is started by a timer set for its own start: timers may fire a little early by the
  // wall clock, so Date.now() at the tick could still name the round before.
  const schedule = (period: number): void => {
    if (stopped) return;
    timer = setTimeout(() => tick(period), Math.max(0, period * intervalMs - Date.now()));
  };
  function tick(period: number): void {
    schedule(period + 1);
    if (running) {
      deps.logger.warn({ period }, 'the previous URL check round is still running; skipping this one');
      return;
    }
    running = round(period)
      .catch((error: unknown) =>
        deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'url check round failed'),
      )
      .finally(() => (running = undefined));
  }
  schedule(periodAt(Date.now(), intervalMs) + 1);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
