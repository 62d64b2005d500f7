import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL, type TestSystem, eventually, placeOrder, request, startTestSystem } from './harness.ts';

describe('restart', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({}, { persistent: true });
  });
  afterAll(() => t.stop());

  it('a restart in the middle of a burst of orders ends with every accepted order in a terminal state', async () => {
    const accepted: string[] = [];
    const burst = Array.from({ length: 150 }, (_, i) =>
      // Stock for every order of the burst: how many are accepted before the restart depends on timing.
      placeOrder(t.urls, { customerId: `burst-${i}`, items: [{ productId: i % 2 ? 'product-1' : 'ABC-001', quantity: 1 }] })
        .then((r) => {
          if (r.status === 202) accepted.push(r.body.orderId);
        })
        .catch(() => undefined), // refused while stopping: never accepted, so never owed an outcome
    );
    await eventually(async () => (accepted.length >= 40 ? true : undefined), '40 accepted orders');
    await t.restart();
    await Promise.all(burst);
    expect(accepted.length).toBeGreaterThanOrEqual(40);

    const statuses = await eventually(async () => {
      const views = await Promise.all(accepted.map((id) => request<{ status: string }>(`${t.urls.status}/status/${id}`)));
      return views.every((v) => v.status === 200 && TERMINAL.includes(v.body.status)) ? views.map((v) => v.body.status) : undefined;
    }, 'every accepted order to end', 30_000);
    expect(statuses.every((s) => s === 'COMPLETED')).toBe(true);

    // The order service agrees with the read model after the restart.
    const orders = await request<{ total: number }>(`${t.urls.order}/orders?status=COMPLETED`);
    expect(orders.body.total).toBe(accepted.length);
    const initialStock = 100 + 200; // product-1 and ABC-001 in the default catalog
    const sold = initialStock - (await Promise.all(['product-1', 'ABC-001'].map(async (p) => (await request(`${t.urls.inventory}/inventory/${p}`)).body.available))).reduce((a, b) => a + b, 0);
    expect(sold).toBe(accepted.length);
  });
});
