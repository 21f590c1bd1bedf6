import autocannon from 'autocannon';

/** What to load and for how long. */
export interface HttpLoadOptions {
  readonly url: string;
  /** Seconds of measured load. */
  readonly durationSeconds: number;
  /** Concurrent keep-alive connections, each with one request in flight. */
  readonly connections: number;
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /**
   * Seconds of unmeasured load first, so the server's JIT, connection pools and Redis are
   * warm when the measured part starts; defaults to 2.
   */
  readonly warmupSeconds?: number;
}

/** Throughput and latency of one load run; latencies in milliseconds. */
export interface HttpLoadResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
}

/**
 * Sends requests over loopback from this process for a fixed time and connection count. Any
 * failed request or non-2xx answer throws: the figures of a run that measured error pages
 * would describe the wrong code path.
 */
export async function measureHttp(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const request = {
    url: options.url,
    connections: options.connections,
    method: options.method ?? 'GET',
    headers: { ...options.headers },
    ...(options.body !== undefined ? { body: options.body } : {}),
  };
  const warmupSeconds = options.warmupSeconds ?? 2;
  if (warmupSeconds > 0) check(await autocannon({ ...request, duration: warmupSeconds }), options.url);
  const result = check(await autocannon({ ...request, duration: options.durationSeconds }), options.url);
  return {
    requestsPerSecond: result.requests.total / result.duration,
    requests: result.requests.total,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  };
}

function check(result: autocannon.Result, url: string): autocannon.Result {
  if (result.errors > 0 || result.non2xx > 0) {
    const codes = JSON.stringify(result.statusCodeStats ?? {});
    throw new Error(
      `${url}: ${result.errors} failed requests and ${result.non2xx} non-2xx answers (status codes: ${codes})`,
    );
  }
  if (result.requests.total === 0) throw new Error(`${url}: no request completed`);
  return result;
}
