import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSystem, placeOrder, request, startTestSystem, waitForTerminal } from './harness.ts';

/** The example requests of the source documents in ../shared/seeds, with the outcomes they describe. */
describe('the source documents’ example requests', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem();
  });
  afterAll(() => t.stop());
  // The documents send no token: development mode (the test systems' default) accepts them as they are.
  const placeAsTheDocumentsDo = (body: unknown, path?: string) => placeOrder(t.urls, body, path, {}, null);

  it('000/001: POST /order places an order that completes', async () => {
    const placed = await placeAsTheDocumentsDo({ customerId: 'doc-001', items: [{ productId: 'product-2', quantity: 1 }] }, '/order');
    expect(placed.status).toBe(202);
    expect((await waitForTerminal(t.urls, placed.body.orderId)).status).toBe('COMPLETED');
  });

  it('002: POST /api/orders {"userId":42,"items":[{"sku":"ABC-001","qty":2}]} answers PENDING, then completes', async () => {
    const placed = await placeAsTheDocumentsDo({ userId: 42, items: [{ sku: 'ABC-001', qty: 2 }] }, '/api/orders');
    expect(placed.status).toBe(202);
    expect(placed.body.status).toBe('PENDING');
    const view = await waitForTerminal(t.urls, placed.body.orderId);
    expect(view.status).toBe('COMPLETED');
    expect(view.customerId).toBe('42');
  });

  it('003: the normal two-line order completes; the 20-unit order runs out of stock', async () => {
    const normal = await placeAsTheDocumentsDo({
      userId: 'user123',
      items: [
        { productId: 'prod001', quantity: 2, price: 5000 },
        { productId: 'prod002', quantity: 1, price: 3000 },
      ],
    });
    expect(normal.status).toBe(202);
    expect(normal.body.total).toBe(13000);
    expect((await waitForTerminal(t.urls, normal.body.orderId)).status).toBe('COMPLETED');

    const tooMany = await placeAsTheDocumentsDo({ userId: 'user456', items: [{ productId: 'prod001', quantity: 20, price: 5000 }] });
    expect(tooMany.status).toBe(202);
    const view = await waitForTerminal(t.urls, tooMany.body.orderId);
    expect(view.status).toBe('CANCELLED_NO_STOCK');
  });

  it('003: a client price that disagrees with the catalog is refused', async () => {
    const refused = await placeAsTheDocumentsDo({ userId: 'user123', items: [{ productId: 'prod001', quantity: 1, price: 4000 }] });
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('body.items.0.price');
  });

  it('004: {userId, productId, quantity, price} places a one-line order that completes', async () => {
    const placed = await placeAsTheDocumentsDo({ userId: 1, productId: 1, quantity: 1, price: 10000 });
    expect(placed.status).toBe(202);
    const view = await waitForTerminal(t.urls, placed.body.orderId);
    expect(view.status).toBe('COMPLETED');
    expect(view.items).toEqual([{ productId: '1', quantity: 1, unitPrice: 10000 }]);
  });

  it('001: the catalog has the three products with their prices and stock', async () => {
    const inventory = await request<{ items: { productId: string; name: string; unitPrice: number }[] }>(`${t.urls.inventory}/inventory`, { token: null });
    const byId = new Map(inventory.body.items.map((p) => [p.productId, p]));
    expect(byId.get('product-1')).toMatchObject({ name: 'Premium Widget', unitPrice: 2999 });
    expect(byId.get('product-2')).toMatchObject({ name: 'Deluxe Gadget', unitPrice: 4999 });
    expect(byId.get('product-3')).toMatchObject({ name: 'Elite Device', unitPrice: 9999 });
  });
});
