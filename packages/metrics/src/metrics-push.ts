import { hostname } from 'node:os';
import { Pushgateway, type Registry } from 'prom-client';

/** Where and how often to push, for platforms where nothing can scrape each instance. */
export interface MetricsPushOptions {
  readonly url: string;
  readonly intervalMs: number;
  /** Prometheus job label, e.g. `flotilla-web`. */
  readonly job: string;
  /** Distinguishes this instance's group (dyno, Cloud Run instance); defaults to host and pid. */
  readonly instance?: string;
}

/** A running pusher; `stop` stops pushing and deletes this instance's group. */
export interface MetricsPusher {
  stop(): Promise<void>;
}

/**
 * Pushes the registry to a Prometheus Pushgateway every interval (Heroku dynos and Cloud Run
 * instances cannot be scraped one by one). Each instance pushes to its own group, and removes
 * it when it stops, so a scaled-down instance's last values do not linger as if it were alive.
 */
export function startMetricsPush(
  registry: Registry,
  options: MetricsPushOptions,
  onError: (error: Error) => void,
): MetricsPusher {
  const gateway = new Pushgateway(options.url, { timeout: 5000 }, registry);
  const groupings = { instance: options.instance ?? `${hostname()}-${process.pid}` };
  const push = (): Promise<void> =>
    gateway.pushAdd({ jobName: options.job, groupings }).then(
      () => undefined,
      (error: unknown) => onError(error instanceof Error ? error : new Error(String(error))),
    );
  const timer = setInterval(() => void push(), options.intervalMs);
  timer.unref();
  void push();
  return {
    async stop() {
      clearInterval(timer);
      await gateway
        .delete({ jobName: options.job, groupings })
        .catch((error: unknown) => onError(error instanceof Error ? error : new Error(String(error))));
    },
  };
}
