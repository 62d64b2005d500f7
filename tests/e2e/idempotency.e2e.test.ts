import { COMMAND_TOPICS, EVENT_TOPICS } from '@orderflow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSystem, placeOrder, request, sleep, startTestSystem, stockOf, waitForView } from './harness.ts';

describe('idempotency', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem();
  });
  afterAll(() => t.stop());

  it('a redelivered event changes nothing: no second reservation, charge, shipment or notification', async () => {
    const placed = await placeOrder(t.urls, { customerId: 'grace', items: [{ productId: 'product-2', quantity: 2 }] });
    const { orderId } = placed.body;
    const done = await waitForView(t.urls, orderId, (v) => v.status === 'COMPLETED' && v.steps.notification?.state === 'done', 'COMPLETED');
    const stock = await stockOf(t.urls, 'product-2');
    const payment = (await request(`${t.urls.payment}/payments/${orderId}`)).body;
    const shipment = (await request(`${t.urls.shipping}/shipments/${orderId}`)).body;

    // Redeliver every record of this order, on every topic (commands too), twice: what a broker does after a crash.
    const topics = [...EVENT_TOPICS, ...COMMAND_TOPICS];
    const records = (await Promise.all(topics.map((topic) => t.bus.readAll(topic)))).flat().filter((r) => r.key === orderId);
    expect(records.length).toBeGreaterThanOrEqual(6);
    const copies = records.map(({ topic, key, value, headers }) => ({ topic, key, value, headers }));
    await t.bus.publish([...copies, ...copies]);
    await sleep(500);

    expect(await stockOf(t.urls, 'product-2')).toBe(stock);
    expect((await request(`${t.urls.payment}/payments/${orderId}`)).body).toEqual(payment);
    expect((await request(`${t.urls.shipping}/shipments/${orderId}`)).body).toEqual(shipment);
    expect((await request(`${t.urls.notification}/notifications?orderId=${orderId}`)).body.items).toHaveLength(1);
    const after = (await request(`${t.urls.status}/status/${orderId}`)).body;
    expect(after.status).toBe('COMPLETED');
    expect(after.timeline).toHaveLength(done.timeline.length);
    const metrics = (await request<string>(`${t.urls.inventory}/metrics`)).body;
    expect(metrics).toMatch(/orderflow_events_processed_total\{[^}]*outcome="duplicate"[^}]*\} [1-9]/);
  });

  it('Idempotency-Key: the same request twice makes one order; another body with the same key is refused', async () => {
    const body = { customerId: 'heidi', items: [{ productId: 'product-1', quantity: 1 }] };
    const key = `key-${Date.now()}`;
    const first = await placeOrder(t.urls, body, '/orders', { 'idempotency-key': key });
    const second = await placeOrder(t.urls, body, '/orders', { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.orderId).toBe(first.body.orderId);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const other = await placeOrder(t.urls, { ...body, items: [{ productId: 'product-1', quantity: 2 }] }, '/orders', { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(other.body.error).toBe('IDEMPOTENCY_KEY_REUSED');
    const orders = await request<{ items: { customerId: string }[] }>(`${t.urls.order}/orders?limit=500`);
    expect(orders.body.items.filter((o) => o.customerId === 'heidi')).toHaveLength(1);
  });
});
