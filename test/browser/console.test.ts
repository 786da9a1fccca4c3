/**
 * The operator console (/console) in a real browser against a real instance on the real broker: the token, a case
 * looked up by URP and by UCM id with its timeline (GAP badge), an UNKNOWN_STATUS dead letter found, opened and
 * replayed after the STATUS_MAPPING fix (through the in-page confirmation), the case then CLOSED, and the
 * instances with their tasks. Nothing is fetched from outside localhost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, TEST_TOKEN, type ClusterMember } from '../support/cluster.js';
import { openBrowser, type Browser } from '../support/browser.js';

const cluster = new Cluster({ NUM_STANDBY_REPLICAS: '0' });
const urp = `${cluster.app}-C1`;
let a: ClusterMember;
let browser: Browser;

const event = (eventId: string, eventType: string, eventTime: string, payload: Record<string, unknown>) =>
  JSON.stringify({ eventId, eventType, eventTime, source: 'UCMv2', payload });

beforeAll(async () => {
  a = await cluster.start('a');
  await cluster.allReady();
  await cluster.produce([
    {
      key: 'U1',
      value: event('c1', 'CASE_CREATED', '2026-01-01T00:00:00Z', {
        ucmCaseId: 'U1',
        urpCaseId: urp,
        initialStatus: 'OPEN',
        createdAt: '2026-01-01T00:00:00Z',
      }),
    },
    {
      // oldStatus ON_HOLD while the case is OPEN: a gap in the timeline.
      key: 'U1',
      value: event('s0', 'CASE_STATUS_CHANGED', '2026-01-01T12:00:00Z', {
        ucmCaseId: 'U1',
        urpCaseId: urp,
        oldStatus: 'ON_HOLD',
        newStatus: 'IN_PROGRESS',
        statusChangedAt: '2026-01-01T12:00:00Z',
        reason: 'picked up',
      }),
    },
    {
      key: 'U1',
      value: event('s1', 'CASE_STATUS_CHANGED', '2026-01-02T00:00:00Z', {
        ucmCaseId: 'U1',
        urpCaseId: urp,
        oldStatus: 'IN_PROGRESS',
        newStatus: 'ARCHIVED',
        statusChangedAt: '2026-01-02T00:00:00Z',
      }),
    },
  ]);
  const topics = await cluster.topics();
  await topics.waitUntil(
    (rs) =>
      rs.filter((r) => r.topic === cluster.dlq).length === 1 &&
      JSON.parse(topics.latest(cluster.output).get(urp) ?? '{}').status === 'IN_PROGRESS',
    60_000,
    'the case in progress and one dead letter',
  );
  // The fix: ARCHIVED is mapped from now on; the dead letter can be replayed.
  await cluster.close('a');
  a = await cluster.start('a', { STATUS_MAPPING: '{"ARCHIVED": "CLOSED"}' });
  await cluster.allReady();
  browser = await openBrowser();
});
afterAll(async () => {
  await browser?.close();
  await cluster.stop();
});

describe('/console', () => {
  it('finds the case, replays its dead letter and shows the instances, offline', async () => {
    const { page } = browser;
    const res = await page.goto(`${a.url}/console`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");

    // Without a token the API's 401 is said plainly.
    await page.locator('#status.error', { hasText: '401 Unauthorized' }).waitFor();
    await page.locator('#token').fill(TEST_TOKEN);
    await page.locator('#token-form button[type=submit]').click();
    expect(await page.evaluate("sessionStorage.getItem('urp-case-sync.apiToken')")).toBe(TEST_TOKEN);

    // Recent cases: the case is listed; clicking it opens it.
    const listed = page.locator('#case-list tbody a', { hasText: urp });
    await listed.waitFor();
    await listed.click();
    await page.locator('#case-title', { hasText: `Case ${urp}` }).waitFor();

    // By URP id.
    await page.locator('#case-kind').selectOption('urp');
    await page.locator('#case-id').fill(urp);
    await page.locator('#case-form button').click();
    await page.locator('#case-title', { hasText: `Case ${urp}` }).waitFor();
    expect(await page.locator('#case-status').textContent()).toBe('IN_PROGRESS');
    expect(await page.locator('#case-fields').textContent()).toContain('U1 (IN_PROGRESS)');
    const rows = page.locator('#timeline tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const first = (await rows.nth(0).locator('td').allTextContents()).slice(1, 7);
    expect(first).toEqual([
      expect.stringMatching(/^2026-01-01T00:00:00/),
      expect.stringMatching(/^2026-01-01T00:00:00/),
      '- -> OPEN',
      'CASE_CREATED',
      'UCMv2',
      '',
    ]);
    const second = await rows.nth(1).textContent();
    expect(second).toContain('ON_HOLD -> IN_PROGRESS');
    expect(second).toContain('picked up');
    expect(await rows.nth(1).locator('.badge.gap').textContent()).toBe('GAP');
    expect(await rows.nth(0).locator('.badge').count()).toBe(0);

    // By UCM id.
    await page.locator('#case-title').evaluate((e) => (e.textContent = ''));
    await page.locator('#case-kind').selectOption('ucm');
    await page.locator('#case-id').fill('U1');
    await page.locator('#case-form button').click();
    await page.locator('#case-title', { hasText: `Case ${urp}` }).waitFor();
    await expect.poll(() => rows.count()).toBe(2);
    await page.screenshot({ path: '/tmp/usc-console-cases.png', fullPage: true });

    // Dead letters: filtered by category, opened, replayed through the in-page confirmation.
    await page.locator('#tab-dlq').click();
    await page.locator('#dlq-category').selectOption('UNKNOWN_STATUS');
    await page.locator('#dlq-urp').fill(urp);
    await page.locator('#dlq-form button').click();
    const letter = page.locator('#dlq-list tbody tr.clickable', { hasText: 'UNKNOWN_STATUS' });
    await letter.waitFor();
    await expect.poll(() => page.locator('#dlq-list tbody tr').count()).toBe(1);
    expect(await letter.textContent()).toContain('payload.newStatus');
    await letter.click();
    await page.locator('#dlq-json', { hasText: 'ARCHIVED' }).waitFor();
    expect(await page.locator('#dlq-fields').textContent()).toContain('payload.newStatus');
    await page.locator('#dlq-replay').click();
    await page.locator('#confirm').waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-text').textContent()).toContain('eventId s1');
    await page.screenshot({ path: '/tmp/usc-console-dlq-confirm.png', fullPage: true });
    await page.locator('#confirm-ok').click();
    await page.locator('#dlq-result', { hasText: 'replayed' }).waitFor();
    expect(await page.locator('#dlq-result').textContent()).toMatch(
      /^replayed \d+:\d+ \(eventId s1, key U1\)$/,
    );
    await page.screenshot({ path: '/tmp/usc-console-dlq.png', fullPage: true });

    // Back in Cases: the replayed change applies (the page is asked again until it shows CLOSED).
    await page.locator('#tab-cases').click();
    await page.locator('#case-kind').selectOption('urp');
    await page.locator('#case-id').fill(urp);
    await expect
      .poll(
        async () => {
          await page.locator('#case-form button').click();
          return page.locator('#case-status').textContent();
        },
        { timeout: 60_000 },
      )
      .toBe('CLOSED');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.nth(2).textContent()).toContain('IN_PROGRESS -> CLOSED');

    // Instances: the member with its active tasks and lag.
    await page.locator('#tab-instances').click();
    const member = page.locator('#instances tbody tr[data-instance="a"]');
    await member.waitFor();
    const cells = await member.locator('td').allTextContents();
    expect(cells[0]).toBe('a (this one)');
    expect(cells[2]).toBe('yes');
    expect(cells[3]).toMatch(/\d+_\d+ \(running, lag \d+\)/);
    await expect.poll(() => page.locator('#partitions tbody tr').count()).toBeGreaterThanOrEqual(6);
    await page.screenshot({ path: '/tmp/usc-console-instances.png', fullPage: true });

    expect(browser.external).toEqual([]);
    expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });

  it('serves the page, script and stylesheet without a token, and keeps the data behind it', async () => {
    for (const path of ['/console', '/console/app.js', '/console/app.css']) {
      expect((await fetch(`${a.url}${path}`)).status, path).toBe(200);
    }
    expect((await cluster.get(a, '/dlq', null)).status).toBe(401);
  });
});
