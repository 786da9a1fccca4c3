/**
 * /docs in a real browser: Swagger UI renders the project's OpenAPI document from assets served by the instance
 * (nothing is fetched from outside localhost), opens without a token, and "Try it out" on GET /cases/{urpCaseId}
 * succeeds once the token is given through "Authorize".
 */
import { describe, expect, it } from 'vitest';
import { useBrowserAndApi } from '../support/browser.js';

const TOKEN = 'browser-test-token-0123456789';

const ctx = useBrowserAndApi(TOKEN);

describe('/docs (Swagger UI)', () => {
  it('renders the document offline, and "Try it out" answers with the token given in "Authorize"', async () => {
    const { page } = ctx.browser;
    const docs = await page.goto(`${ctx.api.baseUrl}/docs`);
    expect(docs?.status()).toBe(200);

    const title = await page.waitForSelector('.swagger-ui .info .title');
    expect(await title.textContent()).toContain('urp-case-sync query API');
    const paths = await page
      .locator('.opblock-summary-path')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
    expect(paths).toEqual(
      expect.arrayContaining([
        '/cases/{urpCaseId}',
        '/cases/lookup',
        '/healthz',
        '/topology',
        '/openapi.json',
      ]),
    );

    // Authorize with the bearer token (the document declares http bearer auth).
    await page.locator('.auth-wrapper button.authorize').click();
    await page.locator('.modal-ux input').fill(TOKEN);
    await page.locator('.modal-ux button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();

    // Try it out: GET /cases/{urpCaseId} for a1.
    const op = page.locator('.opblock-get', {
      has: page.locator('.opblock-summary-path[data-path="/cases/{urpCaseId}"]'),
    });
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    await op.locator('tr[data-param-name="urpCaseId"] input').fill('a1');
    await op.locator('button.execute').click();
    const status = op.locator('.live-responses-table .response .response-col_status');
    await status.waitFor();
    expect((await status.textContent())?.trim()).toBe('200');
    expect(
      await op.locator('.live-responses-table .response .response-col_description').textContent(),
    ).toContain('"urpCaseId": "a1"');
    expect(await op.locator('.curl-command').textContent()).toContain(`Authorization: Bearer ${TOKEN}`);

    await op.locator('.live-responses-table').scrollIntoViewIfNeeded();
    await page.screenshot({ path: '/tmp/usc-docs.png' });
    expect(ctx.browser.external).toEqual([]);
    expect(ctx.browser.errors).toEqual([]);
  });
});
