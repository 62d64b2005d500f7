import { mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBrowser, type UiTestSystem, launchBrowser, placeOrderApi, startUiTestSystem } from './harness.ts';

/** Screenshots of each scenario, to look at when a test fails or the UI changes. */
const SHOTS = process.env.UI_SCREENSHOT_DIR ?? join(tmpdir(), 'orderflow-ui-shots');
mkdirSync(SHOTS, { recursive: true });
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

let t: UiTestSystem;
let browser: TestBrowser;
let page: Page;
/** What the browser reported about the Content-Security-Policy on any page of any tab. */
const policyViolations: string[] = [];
const ui = (path: string) => `${t.web.url}${path}`;
/** expect.poll with a patience that suits a whole system behind a browser. */
const poll = <T>(fn: () => Promise<T>, timeout = 10_000) => expect.poll(fn, { timeout, interval: 100 });

beforeAll(async () => {
  // Shipping waits 1.5 s so that an order stays PAID long enough to be cancelled from the page.
  t = await startUiTestSystem({ SHIPPING_DELAY_MS: '1500' });
  browser = await launchBrowser();
  browser.context.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) policyViolations.push(`${message.location().url}: ${message.text()}`);
  });
  browser.context.on('weberror', (error) => policyViolations.push(`page error: ${error.error().message}`));
  page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  // The dashboard and operations are an operator's; the sign-in is kept for every tab of the browser.
  await signInAs(page, 'operator');
});

/** Development sign-in through the UI, as a person would; resolves once the header shows who is signed in. */
async function signInAs(p: Page, who: 'operator' | { customerId: string }) {
  await p.goto(ui('/sign-in'));
  if (who === 'operator') await p.getByTestId('sign-in-operator').click();
  else {
    await p.getByLabel('Customer ID').fill(who.customerId);
    await p.getByTestId('sign-in-customer').click();
  }
  // Playwright's own wait, not expect.poll: this also runs in beforeAll, outside any test.
  await p
    .getByTestId('signed-in-as')
    .filter({ hasText: who === 'operator' ? '(operator)' : `${who.customerId} (customer)` })
    .waitFor();
}

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

// Browser-side expressions are strings: this project is compiled without the DOM library.
/** Marks the document; if the page reloads, the mark is gone. */
const markDocument = (p: Page) => p.evaluate('window.__notReloaded = true');
const stillSameDocument = (p: Page) => p.evaluate('window.__notReloaded === true');

describe('web UI', () => {
  it('signs in as a customer, who sees no operator pages, and as an operator, who does', async () => {
    const tab = await browser.context.newPage();
    try {
      await tab.goto(ui('/'));
      await tab.getByTestId('sign-out').click();
      await poll(() => tab.getByTestId('sign-in-link').isVisible()).toBe(true);
      await signInAs(tab, { customerId: 'alice' });
      await poll(() => tab.getByRole('link', { name: 'Operations' }).count()).toBe(0);
      // The form takes the signed-in customer once the page has read the sign-in: wait for it.
      await poll(() => tab.getByLabel('Customer ID').inputValue()).toBe('alice');
      await tab.goto(ui('/operations'));
      await poll(() => tab.getByTestId('operators-only').isVisible()).toBe(true);
      await tab.getByTestId('sign-out').click();
    } finally {
      // The sign-in is shared by every tab: the tests after this one run as the operator, even if it failed.
      await signInAs(tab, 'operator');
      await tab.close();
    }
    await poll(() => page.reload().then(() => page.getByRole('link', { name: 'Operations' }).count())).toBe(1);
  });

  it('creates an order from the form and shows it reaching COMPLETED without a reload', async () => {
    await page.goto(ui('/orders/new'));
    const quantity = page.getByLabel('Quantity of Premium Widget');
    await quantity.fill('2');
    await page.getByLabel('Quantity of Deluxe Gadget').fill('1');
    await poll(() => page.getByTestId('order-total').textContent()).toBe('$109.97');

    // More than in stock is caught before submitting.
    await page.getByLabel('Quantity of Elite Device').fill('999');
    await poll(() => page.getByTestId('error-product-3').textContent()).toBe('Only 25 in stock');
    await page.getByLabel('Quantity of Elite Device').fill('');

    // A server-side rule shows next to the field it concerns.
    await page.getByLabel('Customer ID').fill('c'.repeat(70));
    await page.getByRole('button', { name: 'Place order' }).click();
    await poll(() => page.getByTestId('error-customerId').textContent()).toContain('64');
    await shot(page, 'order-form-error');

    await page.getByLabel('Customer ID').fill('customer-browser');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await markDocument(page);
    await page.getByTestId('order-status').and(page.locator('[data-status="COMPLETED"]')).waitFor();
    expect(await page.getByTestId('tracking-number').textContent()).toMatch(/^TRK[0-9A-F]{8}$/i);
    expect(await page.locator('[data-testid="steps"] li[data-state="done"]').count()).toBe(5);
    expect(await page.getByTestId('timeline').locator('li').count()).toBeGreaterThanOrEqual(5);
    expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('open');
    expect(await stillSameDocument(page)).toBe(true);
    await shot(page, 'tracking-completed');
  });

  it('shows why an out-of-stock order failed', async () => {
    // Document 003's case: 20 units of a product that has 10.
    const { orderId } = await placeOrderApi(t.system.urls.order!, [{ productId: 'prod001', quantity: 20 }]);
    await page.goto(ui(`/orders/${orderId}`));
    await page.locator('[data-testid="order-status"][data-status="CANCELLED_NO_STOCK"]').waitFor();
    expect(await page.getByTestId('failure-reason').textContent()).toMatch(/stock/i);
    expect(await page.locator('[data-step="inventory"]').getAttribute('data-state')).toBe('failed');
    expect(await page.getByRole('button', { name: 'Cancel order' }).count()).toBe(0);
    await shot(page, 'tracking-out-of-stock');

    await page.goto(ui('/'));
    await page.locator(`[data-testid="order-row"][data-order-id="${orderId}"][data-status="CANCELLED_NO_STOCK"]`).waitFor();
  });

  it('restocking on the operations page updates the dashboard', async () => {
    await page.goto(ui('/'));
    const stock = page.getByTestId('stock-product-2');
    await poll(() => stock.textContent()).toMatch(/^\d+$/);
    const before = Number(await stock.textContent());
    await markDocument(page);

    const operations = await browser.context.newPage();
    await operations.goto(ui('/operations'));
    await operations.getByLabel('Quantity to add to Deluxe Gadget').fill('7');
    await operations.getByRole('button', { name: 'Restock: Deluxe Gadget' }).click();
    await poll(() => operations.getByTestId('restock-notice').textContent()).toBe('Added 7 to Deluxe Gadget.');
    await operations.close();

    await poll(() => stock.textContent(), 10_000).toBe(String(before + 7));
    expect(await stillSameDocument(page)).toBe(true);
    await shot(page, 'dashboard');
  });

  it('shows the disconnection when the status WebSocket drops, reconnects and catches up', async () => {
    await page.goto(ui('/'));
    const connection = page.getByTestId('connection');
    await poll(() => connection.getAttribute('data-state')).toBe('open');
    await markDocument(page);

    await t.stopStatus();
    await poll(() => connection.getAttribute('data-state')).toBe('reconnecting');
    expect(await connection.textContent()).toContain('Disconnected');
    await shot(page, 'dashboard-disconnected');

    // Orders keep flowing while the read side is away; the page catches up when it is back.
    const { orderId } = await placeOrderApi(t.system.urls.order!, [{ productId: 'product-1', quantity: 1 }]);
    await t.startStatus();
    await poll(() => connection.getAttribute('data-state'), 20_000).toBe('open');
    await page.locator(`[data-testid="order-row"][data-order-id="${orderId}"][data-status="COMPLETED"]`).waitFor({ timeout: 20_000 });
    expect(await stillSameDocument(page)).toBe(true);
  });

  it('lists the newest orders first and pages back through older ones on demand', async () => {
    // More orders than one page (50), each customer well under the per-customer rate limit.
    const placed = [];
    for (let i = 0; i < 55; i++) placed.push(await placeOrderApi(t.system.urls.order!, [{ productId: 'product-1', quantity: 1 }], `pager-${i % 5}`));
    await page.goto(ui('/'));
    const rows = page.getByTestId('order-row');
    await page.locator(`[data-testid="order-row"][data-order-id="${placed.at(-1)!.orderId}"]`).waitFor();
    const older = page.getByTestId('older-orders');
    await older.waitFor();
    await poll(() => rows.count()).toBeLessThan(placed.length + 1);
    const totalShown = async () => Number(await page.getByTestId('stat-total').textContent());
    await poll(totalShown).toBeGreaterThanOrEqual(placed.length);
    const total = await totalShown();
    await shot(page, 'dashboard-first-page');
    while (await older.isVisible()) {
      const before = await rows.count();
      await older.click();
      await poll(() => rows.count()).toBeGreaterThan(before);
    }
    await shot(page, 'dashboard-older-orders');
    expect(await rows.count()).toBe(total);
    await page.locator(`[data-testid="order-row"][data-order-id="${placed[0]!.orderId}"]`).waitFor();
  });

  it('cancels an order while it can still be cancelled', async () => {
    await page.goto(ui('/orders/new'));
    await page.getByLabel('Quantity of Elite Device').fill('1');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.locator('[data-testid="order-status"][data-status="CANCELLED"]').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel order' }).count()).toBe(0);
    await poll(() => page.locator('[data-testid="timeline"] li').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('OrderCancelled')]),
    );
    await shot(page, 'tracking-cancelled');
  });

  it('discards a dead letter: it is marked discarded, offers no replay, and the order is left as it was', async () => {
    const { orderId } = await placeOrderApi(t.system.urls.order!, [{ productId: 'FAIL', quantity: 1 }]);
    await page.goto(ui('/operations'));
    const letter = page.getByTestId('dead-letter').filter({ hasText: orderId });
    await letter.waitFor({ timeout: 20_000 });
    await letter.getByRole('button', { name: /^Discard/ }).click();
    await poll(() => page.getByTestId('replay-notice').textContent()).toContain('discarded');
    await poll(() => letter.getAttribute('data-discarded')).toBe('true');
    expect(await letter.getByRole('button', { name: /^Replay/ }).count()).toBe(0);
    await page.goto(ui(`/orders/${orderId}`));
    await page.locator('[data-testid="order-status"][data-status="PENDING"]').waitFor();
  });

  it('lists a dead letter and replays it once the failure injection is switched off', async () => {
    const { orderId } = await placeOrderApi(t.system.urls.order!, [{ productId: 'FAIL', quantity: 1 }]);
    await page.goto(ui('/operations'));
    const letter = page.getByTestId('dead-letter').filter({ hasText: orderId });
    await letter.waitFor({ timeout: 20_000 });
    expect(await letter.textContent()).toContain('injected failure');

    await page.getByLabel(/Inventory throws on product FAIL/).uncheck();
    await page.getByLabel('Payment failure rate (%)').fill('0');
    await page.getByLabel('Shipping failure rate (%)').fill('0');
    await page.getByRole('button', { name: 'Save' }).click();
    await poll(() => page.getByTestId('failure-notice').textContent()).toBe('Saved.');
    await shot(page, 'operations');

    await letter.getByRole('button', { name: /^Replay/ }).click();
    await poll(() => page.getByTestId('replay-notice').textContent()).toContain('replayed');
    await poll(() => letter.getAttribute('data-replayed')).toBe('true');
    await page.goto(ui(`/orders/${orderId}`));
    await page.locator('[data-testid="order-status"][data-status="COMPLETED"]').waitFor();
  });

  it('switches to Japanese and remembers the choice', async () => {
    await page.goto(ui('/orders/new'));
    await page.getByRole('button', { name: '日本語' }).click();
    await page.getByRole('heading', { name: '注文を作成' }).waitFor();
    await page.getByLabel('プレミアムウィジェットの数量').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: '注文を作成' }).waitFor();
    await page.getByLabel('プレミアムウィジェットの数量').waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('ja');
    await shot(page, 'order-form-ja');
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Create an order' }).waitFor();
  });

  it('is usable on a phone-sized screen with the keyboard', async () => {
    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(ui('/'));
    await phone.getByTestId('orders-table').waitFor();
    // Nothing wider than the screen except the scrollable table.
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(phone, 'dashboard-phone');

    await phone.goto(ui('/orders/new'));
    await phone.getByLabel('Quantity of Premium Widget').waitFor();
    await phone.getByLabel('Customer ID').focus();
    await phone.keyboard.press('Tab');
    expect(await phone.evaluate('document.activeElement?.getAttribute("aria-label")')).toBe('Quantity of Premium Widget');
    await phone.keyboard.type('1');
    await poll(() => phone.getByTestId('order-total').textContent()).toBe('$29.99');
    await phone.keyboard.press('Enter');
    await phone.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await phone.locator('[data-testid="order-status"][data-status="COMPLETED"]').waitFor();
    await shot(phone, 'tracking-phone');
    await phone.close();
  });

  // Last: every scenario above (sign-in, dashboard, order placed and tracked live, operations) ran under the policy.
  it('ran every page above without a Content-Security-Policy violation', () => {
    expect(policyViolations).toEqual([]);
  });
});

/**
 * A request to the UI's server as a streaming uploader sends it: the body in 16 KiB pieces, and no
 * more once an answer has come (the server may stop reading and close); chunked when `chunked`.
 */
function sendRaw(path: string, init: { method: string; body: string; chunked?: boolean; headers?: Record<string, string> }) {
  return new Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
    let answered = false;
    const request = httpRequest(ui(path), { method: init.method, headers: { 'content-type': 'application/json', ...init.headers } }, (response) => {
      answered = true;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body, headers: response.headers });
        request.destroy();
      });
    });
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (!init.chunked) request.setHeader('content-length', Buffer.byteLength(init.body));
    const write = async () => {
      for (let offset = 0; offset < init.body.length && !answered; offset += 16 * 1024) {
        request.write(init.body.slice(offset, offset + 16 * 1024));
        await sleep(5);
      }
      if (!answered) request.end();
    };
    void write();
  });
}

describe('web UI server', () => {
  it('sends the security headers, and a nonce on every script of a page', async () => {
    const response = await fetch(ui('/'));
    const policy = response.headers.get('content-security-policy') ?? '';
    const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce).toBeDefined();
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    // The status WebSocket is on another port: allowed by name.
    expect(policy).toMatch(new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${new URL(t.system.urls.status!).port}`));
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('same-origin');
    const html = await response.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    // A fresh nonce per page.
    const again = (await fetch(ui('/'))).headers.get('content-security-policy');
    expect(again).not.toContain(`'nonce-${nonce}'`);

    for (const path of ['/api/config', '/api/status/stats']) {
      const api = await fetch(ui(path));
      expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(api.headers.get('x-frame-options')).toBe('DENY');
      expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('forwards only the routes on its allow-list', async () => {
    for (const [method, path] of [
      ['GET', '/api/order/metrics'],
      ['GET', '/api/order/openapi.json'],
      ['GET', '/api/order/docs'],
      ['DELETE', '/api/order/orders/x'],
      ['POST', '/api/payment/admin/failure-injection'],
      ['PUT', '/api/payment/admin/failure-injection/extra'],
      ['GET', '/api/nosuch/orders'],
    ] as const) {
      const response = await fetch(ui(path), { method });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await response.json()).toEqual({ error: 'NOT_FOUND', message: expect.stringContaining('not a route this UI forwards'), issues: [] });
    }
    // Failure injection is on the list (the operations page uses it) but the service still wants an operator.
    const anonymous = await fetch(ui('/api/payment/admin/failure-injection'), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"failureRate":1}' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    // What the pages call still goes through.
    expect((await fetch(ui('/api/inventory/inventory'))).status).toBe(200);
  });

  it('refuses a body over the limit with 413 before it reaches the service, declared or streamed', async () => {
    const order = (customerId: string, padding: number) => JSON.stringify({ customerId, items: [{ productId: 'product-1', quantity: 1 }] }) + ' '.repeat(padding);
    for (const chunked of [false, true]) {
      const key = `oversize-${chunked}-${Date.now()}`;
      const refused = await sendRaw('/api/order/orders', { method: 'POST', body: order('customer-oversize', 200 * 1024), chunked, headers: { 'idempotency-key': key } });
      expect(refused.status, `chunked: ${chunked}`).toBe(413);
      expect(JSON.parse(refused.body)).toEqual({ error: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('through the UI'), issues: [] });
      // The service never saw the key: the same key with a small body is a first request, not a replay.
      const placed = await sendRaw('/api/order/orders', { method: 'POST', body: order('customer-oversize', 0), chunked, headers: { 'idempotency-key': key } });
      expect(placed.status).toBe(202);
      expect(placed.headers['idempotent-replayed']).toBeUndefined();
    }
  });
});
