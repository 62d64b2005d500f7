/**
 * `npm run screenshots`: starts the whole system and the built web UI, places a few
 * orders, and saves docs/screenshots/{dashboard,order-form,tracking}.png.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser, placeOrderApi, startUiTestSystem } from '../../../tests/browser/harness.ts';

const OUT = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const TERMINAL = ['COMPLETED', 'CANCELLED_NO_STOCK', 'PAYMENT_FAILED', 'SHIPMENT_FAILED', 'CANCELLED'];

async function statusOf(statusUrl: string, orderId: string): Promise<string | undefined> {
  const response = await fetch(`${statusUrl}/status/${orderId}`);
  return response.ok ? ((await response.json()) as { status: string }).status : undefined;
}

async function waitForTerminal(statusUrl: string, orderId: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (TERMINAL.includes((await statusOf(statusUrl, orderId)) ?? '')) return;
    await sleep(50);
  }
  throw new Error(`order ${orderId} did not finish`);
}

mkdirSync(OUT, { recursive: true });
console.log('screenshots: starting the system and the web UI...');
const t = await startUiTestSystem({ SHIPPING_DELAY_MS: '300' });
const browser = await launchBrowser({ viewport: { width: 1280, height: 900 } });
try {
  const urls = t.system.urls as Record<string, string>;
  const orderUrl = urls.order!;
  const statusUrl = urls.status!;
  const placed: string[] = [];
  const orders = [
    [{ productId: 'product-1', quantity: 2 }],
    [{ productId: 'product-2', quantity: 1 }, { productId: 'product-3', quantity: 1 }],
    [{ productId: 'product-3', quantity: 2 }],
    [{ productId: 'prod001', quantity: 20 }],
    [{ productId: 'ABC-001', quantity: 3 }],
    [{ productId: 'product-1', quantity: 1 }, { productId: 'product-2', quantity: 2 }],
  ];
  for (const [i, items] of orders.entries()) {
    placed.push((await placeOrderApi(orderUrl, items, `customer-${i + 1}`)).orderId);
  }
  // One cancelled before it ships.
  const cancelled = (await placeOrderApi(orderUrl, [{ productId: 'product-2', quantity: 1 }], 'customer-7')).orderId;
  await fetch(`${orderUrl}/orders/${cancelled}/cancel`, { method: 'POST' });
  for (const id of [...placed, cancelled]) await waitForTerminal(statusUrl, id);

  const page = await browser.context.newPage();
  await page.goto(`${t.web.url}/`);
  await page.locator('[data-testid="connection"][data-state="open"]').waitFor();
  await page.locator('[data-testid="order-row"]').nth(placed.length).waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${OUT}dashboard.png`, fullPage: true });

  await page.goto(`${t.web.url}/orders/new`);
  await page.getByLabel('Quantity of Premium Widget').fill('2');
  await page.getByLabel('Quantity of Elite Device').fill('30');
  await page.getByLabel('Quantity of Deluxe Gadget').fill('1');
  await page.getByLabel('Customer ID').focus();
  await page.screenshot({ path: `${OUT}order-form.png`, fullPage: true });

  await page.goto(`${t.web.url}/orders/${placed[1]}`);
  await page.locator('[data-testid="order-status"][data-status="COMPLETED"]').waitFor();
  await page.screenshot({ path: `${OUT}tracking.png`, fullPage: true });
  console.log(`screenshots: saved dashboard.png, order-form.png and tracking.png in ${OUT}`);
} finally {
  await browser.close();
  await t.stop();
}
