import { findExecutable } from '@flotilla/local-redis';
import { isolatedServiceEnv, spawnWeb, spawnWorker, type ServiceHandle } from '@flotilla/testkit';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// The Content Security Policy is only proven by a browser that enforces it: the dashboard's
// inline script and bull-board's bundle must run, and nothing may be refused. Uses the
// machine's Chromium (Debian's `chromium` package); without one there is nothing to drive.
const chromiumPath = findExecutable('chromium') ?? findExecutable('chromium-browser');

describe.skipIf(chromiumPath === undefined)('the dashboard in a real browser, under the Content Security Policy', () => {
  let web: ServiceHandle;
  let worker: ServiceHandle;
  let browser: Browser;

  beforeAll(async () => {
    const env = isolatedServiceEnv(inject('redisUrl'));
    [web, worker, browser] = await Promise.all([
      spawnWeb({ ...env, DASHBOARD_ALLOW_UNAUTHENTICATED: 'true' }),
      spawnWorker(env),
      chromium.launch({ executablePath: chromiumPath ?? 'chromium', args: ['--no-sandbox'] }),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([web?.stop(), worker?.stop()]);
  });

  /** Opens a page and collects every Content Security Policy violation it reports. */
  async function open(path: string): Promise<{ page: Page; violations: string[] }> {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) violations.push(message.text());
    });
    await page.goto(web.url + path);
    return { page, violations };
  }

  it('/dashboard runs its inline script and goes live over its event stream', async () => {
    const { page, violations } = await open('/dashboard');
    await page.locator('#live', { hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    expect(Number(await page.locator('#member-count').textContent())).toBeGreaterThanOrEqual(2);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('/dashboard/jobs (bull-board) renders every queue', async () => {
    const { page, violations } = await open('/dashboard/jobs');
    for (const queue of ['default', 'cpu', 'background', 'outbound']) {
      await page.getByText(queue, { exact: true }).first().waitFor({ timeout: 10_000 });
    }
    expect(violations).toEqual([]);
    await page.close();
  });
});
