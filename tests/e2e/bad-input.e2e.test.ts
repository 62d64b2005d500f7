import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSystem, placeOrder, request, sleep, startTestSystem } from './harness.ts';

describe('bad input gets a 4xx that names the field and rule, and writes nothing', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem();
  });
  afterAll(() => t.stop());

  const ordersCount = async () => (await request<{ total: number }>(`${t.urls.order}/orders`)).body.total;
  const ordersTopic = async () => (await t.bus.readAll('orders')).length;

  const cases: Array<[string, { raw?: string; body?: unknown; headers?: Record<string, string> }, number, string]> = [
    ['malformed JSON', { raw: '{"customerId": "x", "items": [' }, 400, 'body'],
    ['a string quantity', { body: { customerId: 'x', items: [{ productId: 'product-1', quantity: 'two' }] } }, 400, 'body.items.0.quantity'],
    ['a zero quantity', { body: { customerId: 'x', items: [{ productId: 'product-1', quantity: 0 }] } }, 400, 'body.items.0.quantity'],
    ['a negative quantity', { body: { customerId: 'x', items: [{ productId: 'product-1', quantity: -3 }] } }, 400, 'body.items.0.quantity'],
    ['a fractional quantity', { body: { customerId: 'x', items: [{ productId: 'product-1', quantity: 1.5 }] } }, 400, 'body.items.0.quantity'],
    ['an unknown product', { body: { customerId: 'x', items: [{ productId: 'no-such-product', quantity: 1 }] } }, 422, 'body.items.0.productId'],
    ['empty items', { body: { customerId: 'x', items: [] } }, 400, 'body.items'],
    ['no customer', { body: { items: [{ productId: 'product-1', quantity: 1 }] } }, 400, 'body.customerId'],
    ['a body that is an array', { body: [1, 2, 3] }, 400, 'body'],
    ['a wrong currency', { body: { customerId: 'x', currency: 'EUR', items: [{ productId: 'product-1', quantity: 1 }] } }, 422, 'body.currency'],
    ['an oversized body', { body: { customerId: 'x'.repeat(70_000), items: [{ productId: 'product-1', quantity: 1 }] } }, 413, 'body'],
  ];

  for (const [name, input, status, field] of cases) {
    it(`${name} → ${status} naming ${field}`, async () => {
      const [countBefore, topicBefore] = [await ordersCount(), await ordersTopic()];
      const response = await request(`${t.urls.order}/orders`, { ...input, method: 'POST' });
      expect(response.status).toBe(status);
      expect(typeof response.body.error).toBe('string');
      expect(response.body.message).toContain(field);
      await sleep(20);
      expect(await ordersCount()).toBe(countBefore);
      expect(await ordersTopic()).toBe(topicBefore);
    });
  }

  it('a non-JSON content type is refused', async () => {
    const response = await fetch(`${t.urls.order}/orders`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(response.status).toBe(415);
  });

  it('an unknown order id is a 404 naming the order', async () => {
    const response = await request(`${t.urls.order}/orders/nope`);
    expect(response.status).toBe(404);
    expect(response.body.message).toContain('nope');
  });

  it('a bad restock quantity is a 400 naming the field', async () => {
    const response = await request(`${t.urls.inventory}/inventory/product-1/restock`, { body: { quantity: 0 } });
    expect(response.status).toBe(400);
    expect(response.body.message).toContain('body.quantity');
  });

  it('a valid order is still accepted afterwards', async () => {
    const placed = await placeOrder(t.urls, { customerId: 'ok', items: [{ productId: 'product-1', quantity: 1 }] });
    expect(placed.status).toBe(202);
  });
});
