import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@linebacker/config';
import { createProducerConnection, instanceIdentity, startInstanceHeartbeat, type InstanceHeartbeat, type RedisClient } from '@linebacker/queues';
import { createLogger } from '@linebacker/runtime';
import { acceptBackupRequest, recordTransition } from '@linebacker/db';
import type { RequestStatus } from '@linebacker/domain';
import { call, createTestApiClient, type TestApiClient } from '../support/api-client.js';
import type { Azurite } from '../support/azurite.js';
import { startReceiverWithAzurite, type TestReceiver } from '../support/receiver.js';
import { createTestDatabase, testQueuePrefix, testRedisUrl, type TestDatabase } from '../support/test-database.js';

/*
 * The request dashboard and the queue UI in a real headless Chromium (Debian's `chromium` package,
 * driven by playwright-core; .ci/run installs it when it is missing), against a receiver running in
 * this process with a database, a BullMQ prefix and an Azurite of its own. Two "hosts" announce
 * instances in its instance registry: host-a, this process (the receiver, which leads), and host-b,
 * two workers announced from here with other pids.
 */

const CHROMIUM = process.env.LINEBACKER_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const RESULTS_DIR = fileURLToPath(new URL('../../test-results/', import.meta.url));
const today = new Date().toISOString().slice(0, 10);

let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let receiver: TestReceiver;
let operator: TestApiClient;
let writer: TestApiClient;
let userDataDir: string;
let browser: BrowserContext;
let page: Page;
let registry: RedisClient;
const heartbeats = new Map<string, InstanceHeartbeat>();
/** Uncaught exceptions and console errors of the pages (CSP violations show up here too). */
const pageErrors: string[] = [];
const posted: string[] = [];
/** What the dashboard asked the receiver for: resource type and path with query. */
const pageRequests: { type: string; path: string }[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set LINEBACKER_CHROMIUM to a Chromium binary)`);
  }
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
  const prefix = testQueuePrefix();
  ({ receiver, azurite } = await startReceiverWithAzurite(db.databaseUrl, prefix, {
    LINEBACKER_HOST_NAME: 'host-a',
    // leader soon (nothing consumes the queues here, so reconciliation finds nothing to add)
    LINEBACKER_RECOVERY_DELAY_MS: '200',
    LINEBACKER_STATISTICS_REFRESH_MS: '1000',
    LINEBACKER_QUEUE_DEPTH_SAMPLE_MS: '1000',
  }));
  registry = createProducerConnection(loadConfig({ REDIS_URL: testRedisUrl() }).redis, 'dashboard-test-registry');
  const announce = (host: string, app: string, pid: number, activeJobs: number) =>
    heartbeats.set(
      `${host}:${app}`,
      startInstanceHeartbeat({
        redis: registry,
        prefix,
        identity: { ...instanceIdentity(app, host), pid },
        heartbeatMs: 500,
        activeJobs: () => activeJobs,
        log: createLogger('dashboard-test', 'silent'),
      }),
    );
  announce('host-a', 'http-receiver', process.pid, 1);
  announce('host-b', 'check-allowed', 4242, 7);
  announce('host-b', 'send-to-interface', 4243, 0);
  operator = await createTestApiClient(db.databaseUrl, ['ops:read', 'requests:write'], 'operator');
  writer = await createTestApiClient(db.databaseUrl, ['requests:write', 'requests:read'], 'writer');

  // requests of another client that went all the way, for the charts: accepted and moved on in
  // Postgres as the pipeline's steps would (there are no workers here), so never queued
  const outcomes: RequestStatus[][] = [
    ['Allowed', 'Sent', 'Succeeded'],
    ['Allowed', 'Sent', 'Succeeded'],
    ['Allowed', 'Sent', 'Succeeded'],
    ['Allowed', 'Sent', 'Failed'],
    ['NotAllowed'],
  ];
  for (const [i, steps] of outcomes.entries()) {
    const { request } = await acceptBackupRequest(pool, {
      backupRequestId: randomUUID(),
      requesterId: writer.clientId,
      backupJobId: 'weekly-files',
      dataDate: today,
      backupDataLocation: `/data/finished/${i}`,
      traceId: `trace-finished-${i}`,
    });
    for (const to of steps) {
      await recordTransition(pool, {
        backupRequestId: request.backupRequestId,
        to,
        ...(to === 'Allowed' ? { backupProviderCode: 'CloudA', storagePathName: 'vault/files' } : {}),
        ...(to === 'NotAllowed' || to === 'Failed' ? { reason: to === 'Failed' ? 'disk full' : 'unknown backup job' } : {}),
      });
    }
  }

  for (let i = 1; i <= 3; i += 1) {
    const response = await call(receiver.url, 'POST', '/api/v1/backup-requests', {
      token: operator.apiKey,
      json: { backupJobId: 'nightly-db', dataDate: today, backupDataLocation: `/data/prepared/${i}` },
    });
    expect(response.status).toBe(202);
    posted.push(response.body.backupRequestId as string);
  }

  userDataDir = await mkdtemp(join(tmpdir(), 'lb-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 1100 },
    timezoneId: 'UTC',
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('request', (request) => {
    const url = new URL(request.url());
    pageRequests.push({ type: request.resourceType(), path: `${url.pathname}${url.search}` });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});

afterAll(async () => {
  await Promise.allSettled([...heartbeats.values()].map((heartbeat) => heartbeat.stop()));
  registry?.disconnect();
  await browser?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await receiver?.close();
  await azurite?.stop();
  await pool?.end();
  await db?.drop();
});

async function signIn(apiKey: string): Promise<void> {
  await page.fill('#apiKey', apiKey);
  await Promise.all([page.waitForURL((url) => url.pathname !== '/admin/session'), page.click('button[type="submit"]')]);
}

const textOf = (selector: string) => page.locator(selector).innerText();

/** The charts' colours (dashboard/charts.js). */
const COLORS = { succeeded: '#2e9e5b', failed: '#d64545', notAllowed: '#8a94a6' };

/** What this test reads of a <canvas> (the test code is compiled without the DOM library). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

/** How many pixels of a chart's canvas have exactly this colour. */
function pixelsOf(chart: string, hex: string): Promise<number> {
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return page.$eval(
    `${chart} canvas`,
    (element, [r, g, b]) => {
      const canvas = element as unknown as CanvasLike;
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) n += 1;
      return n;
    },
    rgb,
  );
}

describe('the request dashboard in headless Chromium', () => {
  it('sends a browser without a session to sign in, then shows the dashboard', async () => {
    await page.goto(`${receiver.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/admin/session');
    await signIn(operator.apiKey);
    expect(new URL(page.url()).pathname).toBe('/dashboard');
  });

  it('shows the health summary: status, dependencies, PM2, queues and request counts', async () => {
    await expect.poll(() => textOf('#overall-status'), { timeout: 10_000 }).toBe('ok');
    const dependencies = await textOf('#dependencies tbody');
    for (const name of ['Postgres', 'Redis', 'interface queue']) expect(dependencies).toContain(name);
    expect(dependencies).not.toContain('down');

    // in-process there is no PM2: the page says so
    expect(await textOf('#pm2-note')).toContain('PM2 is not available');

    // nothing consumes the created queue here, so the three requests wait in it
    const created = page.locator('#queues tbody tr', { hasText: 'created' });
    await expect.poll(() => created.locator('td').nth(1).innerText(), { timeout: 10_000 }).toBe('3');
    expect(await page.locator('#queues tbody tr').allInnerTexts()).toHaveLength(3);

    const received = page.locator('#request-counts tbody tr', { hasText: 'Received' });
    await expect.poll(() => received.locator('td').nth(1).innerText(), { timeout: 10_000 }).toBe('3');
    expect(await textOf('#oldest-non-terminal')).toMatch(/^Oldest request in progress: /);
  });

  it('shows the hosts, their apps and instances, and which one leads', async () => {
    const hostCards = page.locator('#hosts-list article.host');
    await expect.poll(() => hostCards.evaluateAll((cards) => cards.map((card) => card.getAttribute('data-host'))), { timeout: 10_000 }).toEqual(['host-a', 'host-b']);
    const hostB = page.locator('#hosts-list article[data-host="host-b"]');
    expect(await hostB.locator('h3').innerText()).toContain('2 instances');
    const worker = hostB.locator('tr[data-pid="4242"]');
    expect(await worker.getAttribute('data-app')).toBe('check-allowed');
    // pid, uptime, CPU, memory, active jobs, last seen
    const cells = await worker.locator('td').allInnerTexts();
    expect(cells[0]).toBe('4242');
    expect(cells[2]).toMatch(/ %$/);
    expect(cells[3]).toMatch(/MiB$/);
    expect(cells[4]).toBe('7');
    expect(cells[5]).toMatch(/ ago$/);
    expect(await hostB.locator('th[scope="rowgroup"]').allInnerTexts()).toEqual(['check-allowed (1)', 'send-to-interface (1)']);

    // this receiver holds the leader lock: its row says so, and so does the summary
    const receiverRow = page.locator(`#hosts-list article[data-host="host-a"] tr[data-pid="${process.pid}"]`);
    await expect.poll(() => receiverRow.innerText(), { timeout: 10_000 }).toContain('leader');
    expect(await textOf('#hosts-summary')).toBe(`2 hosts, 3 instances. Leader: host-a (pid ${process.pid}).`);
    await mkdir(RESULTS_DIR, { recursive: true });
    await page.locator('#hosts').screenshot({ path: join(RESULTS_DIR, 'dashboard-hosts.png') });

    // host-b stops its apps: its card goes at the next refresh
    await Promise.all(['host-b:check-allowed', 'host-b:send-to-interface'].map((key) => heartbeats.get(key)!.stop()));
    await expect.poll(() => hostCards.count(), { timeout: 10_000 }).toBe(1);
    expect(await textOf('#hosts-summary')).toMatch(/^1 host, 1 instance\./);
  });

  it('lists the latest requests with their status, newest first', async () => {
    const rows = page.locator('#requests tbody tr[data-id]');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(8);
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
    expect(ids.slice(0, 3)).toEqual([...posted].reverse());
    const first = await rows.first().innerText();
    expect(first).toContain('nightly-db');
    expect(first).toContain(operator.clientId);
    expect(first).toContain('Received');
  });

  it('draws the charts of the last hour: completions by outcome, queue depth, stage latency', async () => {
    // the outcomes of the five finished requests, in their colours on the canvas
    await expect.poll(() => page.locator('#chart-outcomes').getAttribute('data-points'), { timeout: 15_000 }).not.toBeNull();
    expect(await pixelsOf('#chart-outcomes', COLORS.succeeded)).toBeGreaterThan(50);
    expect(await pixelsOf('#chart-outcomes', COLORS.failed)).toBeGreaterThan(20);
    expect(await pixelsOf('#chart-outcomes', COLORS.notAllowed)).toBeGreaterThan(20);
    expect(await textOf('#chart-outcomes figcaption')).toContain('5 in the last hour');
    // the three waiting requests of `created`, sampled by the health leader
    await expect.poll(async () => Number(await page.locator('#chart-queues').getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await textOf('#chart-queues .u-legend')).toContain('created waiting');
    // p50 and p95 of the four stages in the current minute
    await expect.poll(async () => Number(await page.locator('#chart-latency').getAttribute('data-points')), { timeout: 15_000 }).toBe(8);
    await mkdir(RESULTS_DIR, { recursive: true });
    await page.locator('#charts').screenshot({ path: join(RESULTS_DIR, 'dashboard-charts.png') });
    expect(pageErrors).toEqual([]);
  });

  it("shows a request's timeline when its row is clicked, and keeps it across refreshes", async () => {
    const id = posted[0]!;
    await page.locator(`#requests tbody tr[data-id="${id}"]`).click();
    await page.locator('#timeline').waitFor({ state: 'visible' });
    expect(await textOf('#timeline-id')).toBe(id);
    const history = page.locator('#timeline-history li');
    await expect.poll(() => history.count()).toBe(1);
    expect(await history.first().innerText()).toContain('Received');
    expect(await textOf('#timeline-details')).toContain('/data/prepared/1');
    expect(await page.locator(`#requests tbody tr[data-id="${id}"]`).getAttribute('aria-selected')).toBe('true');

    // one health refresh later (every 2 s) the selection and the timeline are still there
    await page.waitForTimeout(2500);
    expect(await textOf('#timeline-id')).toBe(id);
    expect(await page.locator(`#requests tbody tr[data-id="${id}"]`).getAttribute('aria-selected')).toBe('true');
    expect(pageErrors).toEqual([]);
  });

  it('follows the event stream: a new request appears at the top, its timeline gains each status, and the list is never read again', async () => {
    await expect.poll(() => textOf('#stream-state'), { timeout: 10_000 }).toContain('live');
    const listReads = () => pageRequests.filter((r) => r.path.startsWith('/api/v1/backup-requests?'));
    expect(listReads()).toHaveLength(1); // once, when the page opened
    expect(pageRequests.filter((r) => r.type === 'eventsource' && r.path === '/api/v1/events')).toHaveLength(1);

    // a client posts a request: it reaches the page through the stream
    const response = await call(receiver.url, 'POST', '/api/v1/backup-requests', {
      token: operator.apiKey,
      json: { backupJobId: 'live-db', dataDate: today, backupDataLocation: '/data/prepared/live' },
    });
    expect(response.status).toBe(202);
    const id = response.body.backupRequestId as string;
    const rows = page.locator('#requests tbody tr[data-id]');
    await expect.poll(() => rows.first().getAttribute('data-id'), { timeout: 10_000 }).toBe(id);
    expect(await rows.count()).toBe(9);
    expect(await rows.first().innerText()).toContain('live-db');

    // selected, its timeline follows it through the pipeline's statuses (written as the steps would)
    await rows.first().click();
    const history = page.locator('#timeline-history li');
    await expect.poll(() => history.count(), { timeout: 10_000 }).toBe(1);
    for (const [step, to] of (['Allowed', 'Sent', 'Succeeded'] as const).entries()) {
      await recordTransition(pool, {
        backupRequestId: id,
        to,
        ...(to === 'Allowed' ? { backupProviderCode: 'CloudB', storagePathName: 'vault/live' } : {}),
      });
      await expect.poll(() => history.count(), { timeout: 10_000 }).toBe(step + 2);
    }
    expect(await history.allInnerTexts()).toEqual([
      expect.stringContaining('Received'),
      expect.stringContaining('Allowed'),
      expect.stringContaining('Sent'),
      expect.stringContaining('Succeeded'),
    ]);
    await expect.poll(() => rows.first().locator('.badge').innerText(), { timeout: 10_000 }).toBe('Succeeded');
    expect(await textOf('#timeline-details')).toContain('vault/live');

    // no polling: the list was read once, however many changes arrived
    expect(listReads()).toHaveLength(1);
    await mkdir(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: join(RESULTS_DIR, 'dashboard.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('renders the queue UI (bull-board) with the three queues for ops:read', async () => {
    const response = await page.goto(`${receiver.url}/admin/queues`);
    expect(response?.status()).toBe(200);
    for (const queue of ['created', 'allowed', 'status-received']) {
      await page.getByText(queue, { exact: true }).first().waitFor({ timeout: 15_000 });
    }
    await page.getByText('Loading...').waitFor({ state: 'hidden', timeout: 15_000 });
    await page.screenshot({ path: join(RESULTS_DIR, 'queues.png'), fullPage: true });
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    // the page works under its Content-Security-Policy: Chromium reports no violation (a font
    // that cannot be fetched offline is a network error, not a violation)
    expect(pageErrors.filter((error) => /Content Security Policy/i.test(error))).toEqual([]);
  });

  it('refuses to sign in a client without ops:read: no cookie, the pages still ask for a sign-in', async () => {
    await browser.clearCookies();
    await page.goto(`${receiver.url}/admin/session?next=%2Fadmin%2Fqueues`);
    await page.fill('#apiKey', writer.apiKey);
    await page.click('button[type="submit"]');
    await page.getByText('That API key does not have the ops:read scope.').waitFor({ timeout: 15_000 });
    expect(await browser.cookies()).toEqual([]);
    await page.goto(`${receiver.url}/admin/queues`);
    expect(new URL(page.url()).pathname).toBe('/admin/session');
  });
});
