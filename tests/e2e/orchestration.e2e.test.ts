import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL, type TestSystem, eventually, placeOrder, request, sagaMode, startTestSystem, stockOf, waitForView } from './harness.ts';

/** What only orchestration has: a persisted saga per order, its restart and its timeouts. */
describe.runIf(sagaMode === 'orchestration')('the orchestrator (document 004)', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ SAGA_STEP_TIMEOUT_MS: '400', SAGA_STEP_MAX_ATTEMPTS: '2' }, { persistent: true });
  });
  afterAll(() => t.stop());

  it('shows each saga: its steps, what is done, every decision', async () => {
    const placed = await placeOrder(t.urls, { customerId: 'saga-view', items: [{ productId: 'product-1', quantity: 1 }] });
    await waitForView(t.urls, placed.body.orderId, (v) => v.status === 'COMPLETED', 'COMPLETED');
    const saga = await eventually(async () => {
      const r = await request(`${t.urls.orchestrator}/sagas/${placed.body.orderId}`);
      return r.body.status === 'COMPLETED' ? r.body : undefined;
    }, 'the saga to complete');
    expect(saga.done).toEqual(['inventory', 'payment', 'shipping']);
    expect(saga.history.map((h: { commands: string[] }) => h.commands).flat()).toEqual([
      'ReserveInventory',
      'ProcessPayment',
      'CreateShipment',
      'SendNotification',
      'CompleteOrder',
    ]);
    const list = await request(`${t.urls.orchestrator}/sagas?status=COMPLETED`);
    expect(list.body.items.some((s: { orderId: string }) => s.orderId === placed.body.orderId)).toBe(true);
  });

  it('a restart of the orchestrator in the middle of a burst loses no saga: every order ends, stock conserved, no double charge', async () => {
    const before = await stockOf(t.urls, 'ABC-001');
    const placing = Array.from({ length: 60 }, (_, i) =>
      placeOrder(t.urls, { customerId: i % 10 === 0 ? `decline-payment-${i}` : `burst-${i}`, items: [{ productId: 'ABC-001', quantity: 1 }] }),
    );
    await sleep(30);
    await t.system.stopService('orchestrator');
    await sleep(150);
    await t.system.startService('orchestrator');
    const placed = await Promise.all(placing);
    expect(placed.every((p) => p.status === 202)).toBe(true);

    const views = await Promise.all(
      placed.map((p) => waitForView(t.urls, p.body.orderId, (v) => TERMINAL.includes(v.status), 'a terminal status')),
    );
    const completed = views.filter((v) => v.status === 'COMPLETED').length;
    expect(views.filter((v) => v.status === 'PAYMENT_FAILED')).toHaveLength(6);
    expect(completed).toBe(54);
    // Declined orders got their stock back; completed ones keep theirs taken.
    await eventually(async () => ((await stockOf(t.urls, 'ABC-001')) === before - completed ? true : undefined), 'stock to settle');
    for (const p of placed) {
      const payment = await request(`${t.urls.payment}/payments/${p.body.orderId}`);
      expect(['COMPLETED', 'FAILED']).toContain(payment.body.status);
    }
    const notifications = await request<{ items: { orderId: string }[] }>(`${t.urls.notification}/notifications?limit=500`);
    const perOrder = new Map<string, number>();
    for (const n of notifications.body.items) perOrder.set(n.orderId, (perOrder.get(n.orderId) ?? 0) + 1);
    expect([...perOrder.values()].every((count) => count === 1)).toBe(true);
  });

  it('a step with no answer is sent again, then compensated: the order ends with the reason', async () => {
    const before = await stockOf(t.urls, 'product-1');
    await t.system.stopService('payment');
    const placed = await placeOrder(t.urls, { customerId: 'nobody-answers', items: [{ productId: 'product-1', quantity: 3 }] });
    const { orderId } = placed.body;
    const view = await waitForView(t.urls, orderId, (v) => v.status === 'PAYMENT_FAILED' && v.timeline.some((e) => e.type === 'InventoryReleased'), 'the timeout to fail the order');
    expect(view.failureReason).toBe('TIMEOUT: no answer to ProcessPayment after 2 attempts');
    expect(await stockOf(t.urls, 'product-1')).toBe(before);
    const saga = (await request(`${t.urls.orchestrator}/sagas/${orderId}`)).body;
    expect(saga).toMatchObject({ status: 'FAILED', attempts: 2 });

    // Payment comes back and works through its queue in order: the late charge is refunded.
    await t.system.startService('payment');
    const payment = await eventually(async () => {
      const r = await request(`${t.urls.payment}/payments/${orderId}`);
      return r.body.status === 'REFUNDED' ? r.body : undefined;
    }, 'the late charge to be refunded');
    expect(payment.amount).toBe(3 * 2999);
    expect((await request(`${t.urls.order}/orders/${orderId}`)).body.status).toBe('PAYMENT_FAILED');
  });
});
