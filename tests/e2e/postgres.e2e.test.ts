import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, createTestDatabase, findTestPostgres } from '../../packages/platform/src/database/test-databases.ts';
import { type TestSystem, eventually, placeOrder, request, sleep, stockOf, startTestSystem, waitForAllTerminal, waitForTerminal, waitForView } from './harness.ts';

// Every service on PostgreSQL (one schema each in a fresh database), the broker embedded.
// Skipped with one line when PostgreSQL cannot be reached, unless REQUIRE_SERVICES=1.
const { url: serverUrl } = await findTestPostgres();

/** Shipping's simulated carrier call: long enough to cancel a PAID order, and to see a transaction held across it. */
const CARRIER_DELAY_MS = 400;

type Levels = { items: { productId: string; available: number }[] };
const availableByProduct = (levels: Levels) => Object.fromEntries(levels.items.map((p) => [p.productId, p.available]));

describe.skipIf(!serverUrl)('the saga with every service on PostgreSQL', () => {
  let database: TestDatabase;
  let t: TestSystem;
  beforeAll(async () => {
    database = await createTestDatabase(serverUrl ?? '');
    t = await startTestSystem({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: '4', SHIPPING_DELAY_MS: String(CARRIER_DELAY_MS) });
  });
  afterAll(async () => {
    await t?.stop();
    await database?.drop();
  });

  /** Reads the server directly, to prove the services wrote there and not to SQLite. */
  async function query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('is ready with its database, and each service has its own schema', async () => {
    const ready = await request(`${t.urls.order}/ready`);
    expect(ready.status).toBe(200);
    const schemas = await query<{ nspname: string }>("select nspname from pg_namespace where nspname in ('order', 'inventory', 'payment', 'notification', 'shipping') order by 1");
    expect(schemas.map((s) => s.nspname)).toEqual(['inventory', 'notification', 'order', 'payment', 'shipping']);
  });

  it('happy path: COMPLETED with a tracking number, stock taken, payment and order stored on the server', async () => {
    const before = await stockOf(t.urls, 'product-1');
    const placed = await placeOrder(t.urls, { customerId: 'alice', items: [{ productId: 'product-1', quantity: 2 }] }, '/orders', { 'idempotency-key': 'pg-happy' });
    expect(placed.status).toBe(202);
    expect(placed.body).toMatchObject({ status: 'PENDING', total: 5998 });
    const { orderId } = placed.body;

    const view = await waitForView(t.urls, orderId, (v) => v.status === 'COMPLETED' && v.steps.notification?.state === 'done', 'COMPLETED and notified');
    expect(view.trackingNumber).toMatch(/^TRK[0-9A-F]{8}$/);
    expect((await request(`${t.urls.order}/orders/${orderId}`)).body).toMatchObject({ status: 'COMPLETED', total: 5998, items: [{ productId: 'product-1', quantity: 2, unitPrice: 2999 }] });
    expect((await request(`${t.urls.payment}/payments/${orderId}`)).body).toMatchObject({ status: 'COMPLETED', amount: 5998 });
    expect(await stockOf(t.urls, 'product-1')).toBe(before - 2);

    // The same Idempotency-Key replays the first answer (the key's insert conflicts on the server).
    const replay = await placeOrder(t.urls, { customerId: 'alice', items: [{ productId: 'product-1', quantity: 2 }] }, '/orders', { 'idempotency-key': 'pg-happy' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.orderId).toBe(orderId);

    const rows = await query<{ status: string; total: string }>('select status, total from "order".orders where order_id = $1', [orderId]);
    expect(rows).toEqual([{ status: 'COMPLETED', total: '5998' }]);
    const list = await request<{ total: number; items: unknown[] }>(`${t.urls.order}/orders?status=COMPLETED`);
    expect(list.body.total).toBe(1);
  });

  it('out of stock: CANCELLED_NO_STOCK and no stock moves', async () => {
    const before = await stockOf(t.urls, 'product-3');
    const placed = await placeOrder(t.urls, { customerId: 'bob', items: [{ productId: 'product-3', quantity: before + 1 }] });
    const view = await waitForTerminal(t.urls, placed.body.orderId);
    expect(view.status).toBe('CANCELLED_NO_STOCK');
    expect(view.failureReason).toContain('OUT_OF_STOCK');
    expect(await stockOf(t.urls, 'product-3')).toBe(before);
  });

  it('cancellation before shipment: CANCELLED, refunded and released', async () => {
    const before = await stockOf(t.urls, 'product-2');
    const placed = await placeOrder(t.urls, { customerId: 'erin', items: [{ productId: 'product-2', quantity: 1 }] });
    const { orderId } = placed.body;
    await waitForView(t.urls, orderId, (v) => v.status === 'PAID', 'PAID');
    const cancelled = await request(`${t.urls.order}/orders/${orderId}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(202);

    const view = await waitForView(
      t.urls,
      orderId,
      (v) => ['PaymentRefunded', 'InventoryReleased'].every((type) => v.timeline.some((e) => e.type === type)),
      'compensations',
    );
    expect(view.status).toBe('CANCELLED');
    expect((await request(`${t.urls.payment}/payments/${orderId}`)).body).toMatchObject({ status: 'REFUNDED', amount: 4999 });
    expect(await stockOf(t.urls, 'product-2')).toBe(before);
    expect((await request(`${t.urls.order}/orders/${orderId}`)).body).toMatchObject({ status: 'CANCELLED' });
  });

  it('concurrent orders for scarce stock never oversell on the server', async () => {
    const before = await stockOf(t.urls, 'product-3');
    const placed = await Promise.all(
      Array.from({ length: before + 10 }, (_, i) => placeOrder(t.urls, { customerId: `rush-${i}`, items: [{ productId: 'product-3', quantity: 1 }] })),
    );
    const views = await waitForAllTerminal(t.urls, placed.map((p) => p.body.orderId));
    const completed = views.filter((v) => v.status === 'COMPLETED').length;
    expect(completed).toBe(before);
    expect(views.filter((v) => v.status === 'CANCELLED_NO_STOCK')).toHaveLength(10);
    expect(await stockOf(t.urls, 'product-3')).toBe(0);
  });

  it("concurrent releases: the status service's inventory view equals the inventory service's stock, also after a rebuild from the log", async () => {
    // Declined payments release their stock; the lines come in both orders (the orders that deadlocked).
    const lines = [
      { productId: 'product-1', quantity: 1 },
      { productId: 'product-2', quantity: 2 },
    ];
    const placed = await Promise.all(
      Array.from({ length: 12 }, (_, i) => placeOrder(t.urls, { customerId: `decline-payment-${i}`, items: i % 2 === 0 ? lines : [...lines].reverse() })),
    );
    for (const p of placed) {
      await waitForView(t.urls, p.body.orderId, (v) => v.status === 'PAYMENT_FAILED' && v.timeline.some((e) => e.type === 'InventoryReleased'), 'PAYMENT_FAILED and released');
    }

    const sameAsInventory = async () => {
      const stock = availableByProduct((await request<Levels>(`${t.urls.inventory}/inventory`)).body);
      const view = availableByProduct((await request<Levels>(`${t.urls.status}/inventory`)).body);
      return JSON.stringify(view) === JSON.stringify(stock) ? view : undefined;
    };
    const view = await eventually(sameAsInventory, "the status service's levels to equal the inventory's");
    expect(view['product-2']).toBe(await stockOf(t.urls, 'product-2'));

    await t.system.stopService('status');
    await t.system.startService('status');
    await eventually(async () => ((await request(`${t.urls.status}/ready`)).status === 200 ? true : undefined), 'status ready after the rebuild');
    await eventually(sameAsInventory, "the rebuilt status service's levels to equal the inventory's");
  });

  it('shipping keeps no transaction open while it waits for the carrier', async () => {
    const placed = await placeOrder(t.urls, { customerId: 'grace', items: [{ productId: 'product-1', quantity: 1 }] });
    const { orderId } = placed.body;
    await waitForView(t.urls, orderId, (v) => v.status === 'PAID', 'PAID');
    // From PAID until shipped, shipping waits CARRIER_DELAY_MS; any transaction of the
    // system older than half of that was held across the wait.
    let oldestMs = 0;
    const deadline = Date.now() + CARRIER_DELAY_MS * 3;
    while (Date.now() < deadline && (await request(`${t.urls.status}/status/${orderId}`)).body.status === 'PAID') {
      const rows = await query<{ age_ms: number | null }>(
        'select (extract(epoch from max(clock_timestamp() - xact_start)) * 1000)::float8 as age_ms from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      oldestMs = Math.max(oldestMs, rows[0]?.age_ms ?? 0);
      await sleep(5);
    }
    await waitForView(t.urls, orderId, (v) => v.status === 'COMPLETED', 'COMPLETED');
    expect(oldestMs).toBeLessThan(CARRIER_DELAY_MS / 2);
  });
});
