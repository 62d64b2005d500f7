import { COMMAND_TOPICS, EVENT_TOPICS } from '@orderflow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSystem, eventually, placeOrder, request, sleep, startTestSystem, stockOf, waitForView } from './harness.ts';

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

  it('/metrics reports each consumer group\'s lag per partition, 0 once everything is handled', async () => {
    const placed = await placeOrder(t.urls, { customerId: 'ivan', items: [{ productId: 'product-3', quantity: 1 }] });
    await waitForView(t.urls, placed.body.orderId, (v) => v.status === 'COMPLETED' && v.steps.notification?.state === 'done', 'COMPLETED');
    const lagOf = async (url: string) =>
      [...(await request<string>(`${url}/metrics`)).body.matchAll(/^orderflow_consumer_lag\{([^}]*)\} (\d+)/gm)].map((m) => ({ labels: m[1] ?? '', value: Number(m[2]) }));
    await eventually(async () => ((await lagOf(t.urls.inventory!)).some((l) => l.value > 0) ? undefined : true), 'inventory to have no lag');
    const inventory = await lagOf(t.urls.inventory!);
    expect(inventory.length).toBeGreaterThanOrEqual(3);
    expect(inventory.some((l) => /group="inventory"/.test(l.labels) && /topic="[a-z.]+"/.test(l.labels) && /partition="\d+"/.test(l.labels))).toBe(true);
    const status = await lagOf(t.urls.status!);
    expect(status.some((l) => /group="status"/.test(l.labels))).toBe(true);
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
