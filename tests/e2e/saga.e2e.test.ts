import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSystem, eventually, openSocket, placeOrder, request, startTestSystem, stockOf, waitForTerminal, waitForView } from './harness.ts';

describe('the saga, choreographed', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ SHIPPING_DELAY_MS: '150' });
  });
  afterAll(() => t.stop());

  it('happy path: an order reaches COMPLETED live on the WebSocket, with all five steps in its timeline', async () => {
    const before = await stockOf(t.urls, 'product-1');
    const placed = await placeOrder(t.urls, { customerId: 'alice', items: [{ productId: 'product-1', quantity: 2 }] });
    expect(placed.status).toBe(202);
    expect(placed.body).toMatchObject({ status: 'PENDING', total: 5998, currency: 'USD' });
    const { orderId } = placed.body;

    const socket = await openSocket(`${t.urls.status!.replace('http', 'ws')}/ws/${orderId}`);
    const completed = await socket.waitFor(
      (m) => m.type === 'order_update' && m.order.status === 'COMPLETED' && m.order.steps.notification?.state === 'done',
      'COMPLETED with the notification step done',
    );
    socket.close();
    if (completed.type !== 'order_update') throw new Error('unreachable');
    const view = completed.order;
    for (const step of ['created', 'inventory', 'payment', 'notification', 'shipping'] as const) {
      expect(view.steps[step]?.state, step).toBe('done');
      expect(view.steps[step]?.at, step).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/);
    }
    expect(view.timeline.map((e) => e.type)).toEqual(
      expect.arrayContaining(['OrderCreated', 'InventoryConfirmed', 'PaymentCompleted', 'NotificationSent', 'Shipped', 'OrderCompleted']),
    );
    expect(view.trackingNumber).toMatch(/^TRK[0-9A-F]{8}$/);
    expect(view.total).toBe(5998);

    const order = await request(`${t.urls.order}/orders/${orderId}`);
    expect(order.body).toMatchObject({ status: 'COMPLETED', trackingNumber: view.trackingNumber });
    expect(await stockOf(t.urls, 'product-1')).toBe(before - 2);
  });

  it('out of stock: the order ends CANCELLED_NO_STOCK and no stock moves', async () => {
    const before = await stockOf(t.urls, 'product-3');
    const placed = await placeOrder(t.urls, { customerId: 'bob', items: [{ productId: 'product-3', quantity: before + 1 }] });
    const view = await waitForTerminal(t.urls, placed.body.orderId);
    expect(view.status).toBe('CANCELLED_NO_STOCK');
    expect(view.steps.inventory?.state).toBe('failed');
    expect(view.failureReason).toContain('OUT_OF_STOCK');
    expect(await stockOf(t.urls, 'product-3')).toBe(before);
  });

  it('payment failure: the order ends PAYMENT_FAILED and its reserved stock comes back', async () => {
    const before = await stockOf(t.urls, 'product-2');
    const placed = await placeOrder(t.urls, { customerId: 'decline-payment-carol', items: [{ productId: 'product-2', quantity: 3 }] });
    // Two topics: OrderCancelled (the status) and InventoryReleased may reach the read side in either order.
    const view = await waitForView(t.urls, placed.body.orderId, (v) => v.status === 'PAYMENT_FAILED' && v.timeline.some((e) => e.type === 'InventoryReleased'), 'stock released');
    expect(view.status).toBe('PAYMENT_FAILED');
    expect(view.steps.payment?.state).toBe('failed');
    expect(await stockOf(t.urls, 'product-2')).toBe(before);
  });

  it('shipment failure: the order ends SHIPMENT_FAILED, the payment is refunded and the stock released', async () => {
    const before = await stockOf(t.urls, 'product-1');
    const placed = await placeOrder(t.urls, { customerId: 'fail-shipment-dave', items: [{ productId: 'product-1', quantity: 1 }] });
    const { orderId } = placed.body;
    const view = await waitForView(
      t.urls,
      orderId,
      (v) => v.status === 'SHIPMENT_FAILED' && ['PaymentRefunded', 'InventoryReleased'].every((type) => v.timeline.some((e) => e.type === type)),
      'refund and release',
    );
    expect(view.status).toBe('SHIPMENT_FAILED');
    expect(view.steps.shipping?.state).toBe('failed');
    expect((await request(`${t.urls.payment}/payments/${orderId}`)).body).toMatchObject({ status: 'REFUNDED', amount: 2999 });
    expect(await stockOf(t.urls, 'product-1')).toBe(before);
  });

  it('cancellation before shipment: CANCELLED, refunded, released; a second cancel is refused', async () => {
    const before = await stockOf(t.urls, 'product-2');
    const placed = await placeOrder(t.urls, { customerId: 'erin', items: [{ productId: 'product-2', quantity: 1 }] });
    const { orderId } = placed.body;
    // Shipping takes 150 ms here (SHIPPING_DELAY_MS): cancel while the order is PAID.
    await waitForView(t.urls, orderId, (v) => v.status === 'PAID', 'PAID');
    const cancelled = await request(`${t.urls.order}/orders/${orderId}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toEqual({ orderId, status: 'CANCELLED' });

    const view = await waitForView(
      t.urls,
      orderId,
      (v) => ['PaymentRefunded', 'InventoryReleased'].every((type) => v.timeline.some((e) => e.type === type)),
      'compensations',
    );
    expect(view.status).toBe('CANCELLED');
    expect(await stockOf(t.urls, 'product-2')).toBe(before);
    expect((await request(`${t.urls.order}/orders/${orderId}`)).body).toMatchObject({ status: 'CANCELLED' });
    // The shipment in the making crossed the cancel. Either shipping made it first and
    // voids it (the command follows CreateShipment on its partition in orchestration),
    // or, while the carrier call was under way outside any transaction, OrderCancelled
    // (another topic) came first and none is made (the usual case in choreography).
    const shipment = await eventually(async () => {
      const found = await request<{ status: string; reason: string | null }>(`${t.urls.shipping}/shipments/${orderId}`);
      return found.status === 200 && found.body.status !== 'SHIPPED' ? found.body : undefined;
    }, 'the shipment to be voided or never made');
    expect(shipment).toMatchObject({ status: expect.stringMatching(/^(VOIDED|CANCELLED_BEFORE_SHIPMENT)$/), reason: 'ORDER_CANCELLED' });

    const again = await request(`${t.urls.order}/orders/${orderId}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'NOT_CANCELLABLE' });
  });

  it('a completed order cannot be cancelled', async () => {
    const placed = await placeOrder(t.urls, { customerId: 'frank', items: [{ productId: 'product-1', quantity: 1 }] });
    await waitForView(t.urls, placed.body.orderId, (v) => v.status === 'COMPLETED', 'COMPLETED');
    const refused = await request(`${t.urls.order}/orders/${placed.body.orderId}/cancel`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('COMPLETED');
  });

  it('restock adds stock and the status service sees the new level', async () => {
    const before = await stockOf(t.urls, 'product-3');
    const restocked = await request(`${t.urls.inventory}/inventory/product-3/restock`, { body: { quantity: 7 } });
    expect(restocked.status).toBe(200);
    expect(restocked.body.available).toBe(before + 7);
    await eventually(async () => {
      const levels = await request<{ items: { productId: string; available: number }[] }>(`${t.urls.status}/inventory`);
      return levels.body.items.find((p) => p.productId === 'product-3')?.available === before + 7 ? true : undefined;
    }, 'the status service to show the restock');
  });
});
