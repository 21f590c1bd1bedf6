import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isolatedServiceEnv, spawnWeb, spawnWorker, waitFor, type ServiceHandle } from '@flotilla/testkit';
import { chromium, type Browser, type Download, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../support/api.js';

// Debian's chromium, driven by playwright-core: no browser download. CI installs it (.ci/run);
// elsewhere the test is skipped without it.
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
if (!CHROMIUM && process.env['CI'] === 'true') throw new Error('chromium is not installed (apt-get install chromium)');
const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));
const ADMIN = { username: 'ops', password: 'correct-horse-battery' };

let web: ServiceHandle;
let worker: ServiceHandle;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!CHROMIUM) return;
  const env = isolatedServiceEnv(inject('redisUrl'));
  [web, worker] = await Promise.all([
    spawnWeb({ ...env, ADMIN_BASIC_AUTH: `${ADMIN.username}:${ADMIN.password}` }),
    spawnWorker(env),
  ]);
  // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start. The rest keep it from
  // calling home, which this machine's closed network refuses.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await (await browser.newContext({ httpCredentials: ADMIN, viewport: { width: 1280, height: 800 } })).newPage();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([web?.stop(), worker?.stop()]);
});

/** The text in a queue's row of the fleet page, by column (1 waiting … 5 completed, 8 done in the window). */
async function queueCell(queue: string, column: number): Promise<string> {
  return (await page.locator('#queues tr', { hasText: queue }).first().locator('td').nth(column).textContent()) ?? '';
}

/** The process list's row whose `column` (0 group, 1 id, 3 pid, …) reads exactly `value`. */
function processRow(column: number, value: string): Locator {
  return page
    .locator('#members tr')
    .filter({ has: page.locator(`td:nth-child(${column + 1})`, { hasText: new RegExp(`^${value}$`) }) });
}

/** Clicks the row's Profile button and resolves with the file the browser then downloads, parsed as JSON. */
async function profileFrom(row: Locator): Promise<{ download: Download; content: unknown }> {
  const downloaded = page.waitForEvent('download', { timeout: 60_000 });
  await row.getByRole('button', { name: 'Profile' }).click();
  const download = await downloaded;
  return { download, content: JSON.parse(await readFile(await download.path(), 'utf8')) as unknown };
}

/** What each top-level field of a parsed file holds (`array`, `number`, `object`, …): its format at a glance. */
function shape(content: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries(content as object).map(([field, value]) => [field, Array.isArray(value) ? 'array' : typeof value]),
  );
}

describe.skipIf(!CHROMIUM)('the dashboard in a browser', () => {
  it('shows the live worker and follows a job to completion without a reload', async () => {
    await page.goto(`${web.url}/dashboard`);
    await expect.poll(() => page.locator('#members').textContent()).toContain(String(worker.pid));
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 10_000 }).toBe('live');
    // No queue is sharded here: the queues table looks as it did before shards existed.
    expect(await page.locator('#queues button.shards, #queues tr.shard').count()).toBe(0);
    const before = Number(await queueCell('default', 5));
    const doneBefore = Number(await queueCell('default', 8));

    const submitted = await api(web.url, 'POST', '/api/jobs/sleep', { json: { ms: 4000, steps: 4 } });
    expect(submitted.status).toBe(202);
    await expect.poll(() => queueCell('default', 2), { timeout: 10_000 }).toBe('1');
    await expect.poll(async () => Number(await queueCell('default', 5)), { timeout: 15_000 }).toBe(before + 1);
    await expect.poll(async () => Number(await queueCell('default', 8)), { timeout: 10_000 }).toBe(doneBefore + 1);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
  });

  it('finds a failed job by id and retries it with a click in bull-board', async () => {
    const submitted = await api(web.url, 'POST', '/api/jobs/flaky', { json: { failTimes: 4 } });
    const { id } = submitted.body as { id: string };
    const state = async (): Promise<string> =>
      ((await api(web.url, 'GET', `/api/jobs/${id}`)).body as { state: string }).state;
    await waitFor(async () => (await state()) === 'failed', {
      timeoutMs: 20_000,
      description: 'the flaky job to fail',
    });

    await page.goto(`${web.url}/dashboard`);
    await page.getByRole('searchbox', { name: 'job id' }).fill(id);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForURL(`**/dashboard/jobs/queue/default/${id}`);
    // bull-board's job card: the retry action is the icon button with the refresh icon, then a confirmation.
    await page.locator('button:has(svg.lucide-refresh-cw)').first().click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    // The fifth attempt is past failTimes, so it succeeds.
    await waitFor(async () => (await state()) === 'completed', {
      timeoutMs: 20_000,
      description: 'the retried job to complete',
    });
    await page.reload();
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-job.png`, fullPage: true });
  });

  it('shows every process with its event-loop vitals, and profiles one from its row into a download', async () => {
    await page.goto(`${web.url}/dashboard`);
    const workerRow = processRow(3, String(worker.pid));
    await expect.poll(() => workerRow.count(), { timeout: 10_000 }).toBe(1);
    expect(await workerRow.locator('td').nth(7).textContent()).toMatch(/^\d+\.\d %$/);
    expect(await workerRow.locator('td').nth(8).textContent()).toMatch(/^\d+\.\d ms$/);

    await workerRow.getByRole('combobox', { name: 'profile kind' }).selectOption('cpu');
    await workerRow.getByRole('spinbutton', { name: 'seconds' }).fill('1');
    const cpu = await profileFrom(workerRow);
    expect(cpu.download.suggestedFilename()).toMatch(/\.cpuprofile$/);
    expect(shape(cpu.content)).toMatchObject({
      nodes: 'array',
      startTime: 'number',
      endTime: 'number',
      samples: 'array',
    });
    await expect.poll(() => workerRow.locator('.profile-state').textContent()).toMatch(/^done: .*\.cpuprofile$/);

    // The snapshot stops the process it is taken of: the page asks first.
    const webRow = processRow(0, 'web');
    const questions: string[] = [];
    page.once('dialog', (dialog) => {
      questions.push(dialog.message());
      void dialog.accept();
    });
    await webRow.getByRole('combobox', { name: 'profile kind' }).selectOption('heap-snapshot');
    expect(await webRow.locator('label.seconds').isHidden()).toBe(true);
    const heap = await profileFrom(webRow);
    expect(questions).toHaveLength(1);
    expect(questions[0]).toContain('pauses process');
    expect(heap.download.suggestedFilename()).toMatch(/\.heapsnapshot$/);
    expect(shape(heap.content)).toMatchObject({ snapshot: 'object', nodes: 'array', edges: 'array', strings: 'array' });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-profile.png`, fullPage: true });
  }, 120_000);

  it('fits a phone screen: the page itself never scrolls sideways, wide tables scroll in place', async () => {
    const phone = await (
      await browser.newContext({ httpCredentials: ADMIN, viewport: { width: 390, height: 844 }, isMobile: true })
    ).newPage();
    await phone.goto(`${web.url}/dashboard`);
    await expect.poll(() => phone.locator('#live').textContent(), { timeout: 10_000 }).toBe('live');
    // A string: it runs in the page, and the tests are type-checked without the DOM's types.
    const overflow = Number(await phone.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: `${ARTIFACTS}dashboard-phone.png`, fullPage: true });
    await phone.close();
  });

  describe('with queues spread over three shards (QUEUE_SHARDS=3)', () => {
    let sharded: ServiceHandle;

    // A web alone: with no worker the jobs stay waiting, one on each shard, so the figures are known.
    beforeAll(async () => {
      sharded = await spawnWeb({
        ...isolatedServiceEnv(inject('redisUrl')),
        QUEUE_SHARDS: '3',
        ADMIN_BASIC_AUTH: `${ADMIN.username}:${ADMIN.password}`,
      });
    });
    afterAll(async () => {
      await sharded?.stop();
    });

    it('shows each queue as one row, and its shards on demand, each linked to its page in bull-board', async () => {
      // One web picks the shards in turn: three jobs land on three shards.
      for (let i = 0; i < 3; i++)
        expect((await api(sharded.url, 'POST', '/api/jobs/sleep', { json: { ms: 1 } })).status).toBe(202);
      await page.goto(`${sharded.url}/dashboard`);
      await expect.poll(() => page.locator('#live').textContent(), { timeout: 10_000 }).toBe('live');
      const row = page.locator('#queues tr:not(.shard)', { hasText: 'default' });
      const shardRows = page.locator('#queues tr.shard[data-queue="default"]');
      const toggle = row.getByRole('button', { name: '3 shards' });
      expect(await page.locator('#queues tr:not(.shard)').count()).toBe(4);
      expect(await page.locator('#queues tr.shard:visible').count()).toBe(0);
      expect(await row.locator('td').nth(1).textContent()).toBe('3');
      expect(await toggle.getAttribute('aria-expanded')).toBe('false');

      await toggle.click();
      expect(await toggle.getAttribute('aria-expanded')).toBe('true');
      await expect.poll(() => page.locator('#queues tr.shard:visible').count()).toBe(3);
      expect(await shardRows.count()).toBe(3);
      for (let i = 0; i < 3; i++) {
        const cells = shardRows.nth(i).locator('td');
        expect(await cells.first().textContent()).toMatch(new RegExp(`^shard ${i} \\{.+\\}$`));
        // waiting, active, …, oldest waiting, workers (none: there is no worker).
        expect(await cells.nth(1).textContent()).toBe('1');
        expect(await cells.nth(6).textContent()).toMatch(/^\d+\.\d s$/);
        expect(await cells.nth(7).textContent()).toBe('0');
      }
      // The next update changes the figures, not the rows: the shards stay open.
      const updated = await page.locator('#updated').textContent();
      await expect.poll(() => page.locator('#updated').textContent(), { timeout: 10_000 }).not.toBe(updated);
      expect(await page.locator('#queues tr.shard:visible').count()).toBe(3);
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}dashboard-shards.png`, fullPage: true });

      await toggle.click();
      await expect.poll(() => page.locator('#queues tr.shard:visible').count()).toBe(0);
      await toggle.click();
      await shardRows.nth(1).getByRole('link', { name: 'shard 1' }).click();
      await page.waitForURL('**/dashboard/jobs/queue/s1-default');
      await expect.poll(() => page.getByText('default (shard 1)').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    });
  });
});
