import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@flotilla/local-redis';
import { httpStatus } from '@flotilla/testkit';

/** A Prometheus server this test process started on 127.0.0.1. */
export interface PrometheusServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The last lines it logged, for failure messages. */
  logs(): string;
  /** SIGTERM, then SIGKILL if it has not exited 10 s later. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_LINES = 60;

// A Prometheus still running when the test process exits would keep its port and files.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `prometheus` with `configFile`, its TSDB under `dir`, on a free loopback port, and
 * resolves once /-/ready answers 200.
 */
export async function startPrometheus(binary: string, configFile: string, dir: string): Promise<PrometheusServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const lines: string[] = [];
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const keep = (chunk: string): void => {
    lines.push(...chunk.split('\n').filter(Boolean));
    if (lines.length > LOG_LINES) lines.splice(0, lines.length - LOG_LINES);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      running.delete(child);
      resolve();
    });
  });
  child.once('error', (error) => keep(`[test] ${error.message}`));
  const hasExited = (): boolean => child.exitCode !== null || child.signalCode !== null || !running.has(child);
  const logs = (): string => lines.join('\n');

  const stop = async (): Promise<void> => {
    if (hasExited()) return;
    child.kill('SIGTERM');
    const cancel = new AbortController();
    const timedOut = sleep(STOP_TIMEOUT_MS, true, { signal: cancel.signal }).catch(() => false);
    const late = await Promise.race([exited.then(() => false), timedOut]);
    cancel.abort();
    if (late) {
      child.kill('SIGKILL');
      await exited;
    }
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while ((await httpStatus(`${url}/-/ready`)) !== 200) {
    if (hasExited() || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}\n--- its last lines ---\n${logs()}`);
    }
    await sleep(100);
  }
  return { url, logs, stop };
}

/** One series of an instant query's result. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  error?: string;
}

/** GET on Prometheus's HTTP API; throws with Prometheus's error text unless it succeeded. */
export async function prometheusApi<T>(server: PrometheusServer, path: string): Promise<T> {
  const response = await fetch(server.url + path);
  const answer = (await response.json()) as ApiAnswer<T>;
  if (answer.status !== 'success' || answer.data === undefined) {
    throw new Error(`${path}: ${response.status} ${answer.error ?? 'no data'}`);
  }
  return answer.data;
}

/** An instant query's result (an empty array when no series matches). */
export async function instantQuery(server: PrometheusServer, expr: string): Promise<Sample[]> {
  const data = await prometheusApi<{ resultType: string; result: Sample[] }>(
    server,
    `/api/v1/query?query=${encodeURIComponent(expr)}`,
  );
  return data.result;
}
