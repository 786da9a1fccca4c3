/**
 * /topology/view in a real browser: the public page asks for the token, fetches GET /topology with it and draws
 * the Mermaid diagram to SVG with the instance's own copy of Mermaid (nothing is fetched from outside localhost).
 */
import { describe, expect, it } from 'vitest';
import { useBrowserAndApi } from '../support/browser.js';

const TOKEN = 'browser-test-token-0123456789';

const ctx = useBrowserAndApi(TOKEN);

describe('/topology/view', () => {
  it('asks for the token, then draws the sub-topologies as SVG, offline', async () => {
    const { page } = ctx.browser;
    const res = await page.goto(`${ctx.api.baseUrl}/topology/view`);
    expect(res?.status()).toBe(200);

    // No token yet: the page asks for one; a wrong one is refused and asked again.
    await page.locator('#token').waitFor();
    await page.locator('#token').fill('not-the-token');
    await page.locator('#token-form button').click();
    await page.locator('#status.error', { hasText: 'refused' }).waitFor();

    await page.locator('#token').fill(TOKEN);
    await page.locator('#token-form button').click();
    const svg = page.locator('#diagram svg');
    await svg.waitFor();
    await expect.poll(() => svg.locator('g.cluster').count()).toBe(2);
    const text = await svg.textContent();
    for (const label of ['Sub-topology 0', 'Sub-topology 1', 'validate', 'reduce-case', 'store: cases']) {
      expect(text).toContain(label);
    }
    expect(await svg.locator('g.node').count()).toBeGreaterThanOrEqual(10);
    expect(await page.locator('#description').textContent()).toContain('Sub-topology: 1');
    await page.screenshot({ path: '/tmp/usc-topology.png', fullPage: true });

    // The token stays for the tab (sessionStorage): a reload draws at once.
    await page.reload();
    await page.locator('#diagram svg').waitFor();
    expect(await page.locator('#token-form').isHidden()).toBe(true);

    expect(ctx.browser.external).toEqual([]);
    expect(ctx.browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });

  it('serves the Mermaid bundle from this instance with a long cache lifetime, and keeps /topology behind the token', async () => {
    const page = (await (await fetch(`${ctx.api.baseUrl}/topology/view`)).text()).match(
      /src="([^"]*mermaid[^"]*)"/,
    );
    expect(page?.[1]).toMatch(/^\/topology\/assets\/mermaid-\d+\.\d+\.\d+\.min\.js$/);
    const bundle = await fetch(`${ctx.api.baseUrl}${page![1]}`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(bundle.headers.get('content-type')).toContain('javascript');
    await bundle.arrayBuffer();
    expect((await fetch(`${ctx.api.baseUrl}/topology`)).status).toBe(401);
    const json = await fetch(`${ctx.api.baseUrl}/topology`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await json.json()).toMatchObject({ mermaid: expect.stringContaining('flowchart LR') });
  });
});
