import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSystem, placeOrder, request, startTestSystem, stockOf, waitForAllTerminal } from './harness.ts';

describe('concurrency', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ BUS_PARTITIONS: '6' });
  });
  afterAll(() => t.stop());

  it('200 concurrent orders for scarce stock never oversell, and stock is conserved', async () => {
    const initial = await stockOf(t.urls, 'product-3');
    expect(initial).toBe(25);
    const quantities = Array.from({ length: 200 }, (_, i) => 1 + (i % 3));
    const placed = await Promise.all(
      quantities.map((quantity, i) => placeOrder(t.urls, { customerId: `rush-${i}`, items: [{ productId: 'product-3', quantity }] })),
    );
    expect(placed.every((p) => p.status === 202)).toBe(true);
    const views = await waitForAllTerminal(t.urls, placed.map((p) => p.body.orderId));

    const completed = views.filter((v) => v.status === 'COMPLETED');
    const sold = completed.reduce((sum, v) => sum + v.items[0]!.quantity, 0);
    const left = await stockOf(t.urls, 'product-3');
    expect(views.every((v) => v.status === 'COMPLETED' || v.status === 'CANCELLED_NO_STOCK')).toBe(true);
    expect(sold).toBeLessThanOrEqual(initial);
    expect(left).toBeGreaterThanOrEqual(0);
    expect(sold + left).toBe(initial);
    // Stock only runs out when no remaining order could be served: at most 2 units can be left.
    expect(left).toBeLessThan(3);
    const orders = await request<{ total: number }>(`${t.urls.order}/orders?status=COMPLETED`);
    expect(orders.body.total).toBe(completed.length);
  });
});
