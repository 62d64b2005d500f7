import { Header } from '@orderflow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSystem, eventually, placeOrder, request, sagaMode, sleep, startTestSystem, waitForView } from './harness.ts';

interface DeadLetterList {
  items: { id: number; topic: string; consumerGroup: string; attempts: number; error: string; replayedAt: string | null; discardedAt: string | null; key: string }[];
}

/** Orchestration: a step unanswered for this long is sent again (2 more times), then failed; short, so the test outlives it. */
const STEP_TIMEOUT_MS = 1_500;

describe('dead letters (document 002)', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ SAGA_STEP_TIMEOUT_MS: String(STEP_TIMEOUT_MS), SAGA_STEP_MAX_ATTEMPTS: '3' });
  });
  afterAll(() => t.stop());

  // Inventory reacts to OrderCreated in choreography, to the orchestrator's ReserveInventory otherwise.
  const topic = sagaMode === 'choreography' ? 'orders' : 'inventory.commands';

  it(`a FAIL sku lands in ${topic}.DLT after 3 attempts, and replays once the failure is switched off`, async () => {
    const placed = await placeOrder(t.urls, { userId: 42, items: [{ sku: 'FAIL', qty: 1 }] }, '/api/orders');
    expect(placed.status).toBe(202);
    const { orderId } = placed.body;

    const dead = await eventually(async () => {
      const list = await request<DeadLetterList>(`${t.urls.inventory}/admin/dead-letters`);
      return list.body.items.find((d) => d.key === orderId);
    }, 'the dead letter');
    expect(dead).toMatchObject({ topic, consumerGroup: 'inventory', attempts: 3, replayedAt: null });
    expect(dead.error).toContain('injected failure');

    const dlt = (await t.bus.readAll(`${topic}.DLT`)).find((r) => r.key === orderId);
    expect(dlt?.headers).toMatchObject({
      [Header.dltOriginalTopic]: topic,
      [Header.dltAttempts]: '3',
      [Header.dltConsumerGroup]: 'inventory',
      [Header.eventType]: sagaMode === 'choreography' ? 'OrderCreated' : 'ReserveInventory',
    });
    expect(dlt?.headers[Header.dltOriginalOffset]).toMatch(/^\d+$/);
    expect(dlt?.headers[Header.dltOriginalPartition]).toMatch(/^\d+$/);
    expect(dlt?.headers[Header.dltError]).toContain('injected failure');

    // The partition moved on: an order placed after the poisoned one completes.
    const next = await placeOrder(t.urls, { customerId: 'after-dlt', items: [{ productId: 'product-1', quantity: 1 }] });
    await waitForView(t.urls, next.body.orderId, (v) => v.status === 'COMPLETED', 'the next order to complete');
    expect((await request(`${t.urls.order}/orders/${orderId}`)).body.status).toBe('PENDING');

    if (sagaMode === 'orchestration') {
      // A dead-lettered command is not an unanswered one: past every step timeout, the
      // orchestrator has neither sent it again (one dead letter, as in choreography) nor
      // failed the order as a stock-out; it waits for the replay.
      await sleep(STEP_TIMEOUT_MS * 4);
      expect((await request(`${t.urls.order}/orders/${orderId}`)).body.status).toBe('PENDING');
      const saga = (await request(`${t.urls.orchestrator}/sagas/${orderId}`)).body;
      expect(saga).toMatchObject({ status: 'RUNNING', step: 'inventory', attempts: 1, deadline: null });
      expect(saga.outcome).toMatch(/^DEAD_LETTERED: ReserveInventory failed in inventory after 3 attempts/);
    }
    const deadOfOrder = await request<DeadLetterList>(`${t.urls.inventory}/admin/dead-letters`);
    expect(deadOfOrder.body.items.filter((d) => d.key === orderId)).toHaveLength(1);
    expect((await t.bus.readAll(`${topic}.DLT`)).filter((r) => r.key === orderId)).toHaveLength(1);

    const stillFailing = await request(`${t.urls.inventory}/admin/dead-letters/${dead.id}/replay`, { method: 'POST' });
    expect(stillFailing.status).toBe(409);
    expect(stillFailing.body.error).toBe('REPLAY_FAILED');

    const switched = await request(`${t.urls.inventory}/admin/failure-injection`, { method: 'PUT', body: { failOnInjectedSku: false } });
    expect(switched.body).toEqual({ failOnInjectedSku: false });
    const replayed = await request(`${t.urls.inventory}/admin/dead-letters/${dead.id}/replay`, { method: 'POST' });
    expect(replayed.status).toBe(200);
    await waitForView(t.urls, orderId, (v) => v.status === 'COMPLETED', 'the replayed order to complete');

    const twice = await request(`${t.urls.inventory}/admin/dead-letters/${dead.id}/replay`, { method: 'POST' });
    expect(twice.status).toBe(409);
    expect(twice.body.error).toBe('ALREADY_REPLAYED');
    const discardReplayed = await request(`${t.urls.inventory}/admin/dead-letters/${dead.id}/discard`, { method: 'POST' });
    expect(discardReplayed.status).toBe(409);
    expect(discardReplayed.body.error).toBe('ALREADY_REPLAYED');
  });

  it('an unparseable record goes to the dead-letter topic at once', async () => {
    await t.bus.publish([{ topic: 'payment', key: 'garbage-1', value: 'this is not json', headers: {} }]);
    const dead = await eventually(async () => {
      const list = await request<DeadLetterList>(`${t.urls.order}/admin/dead-letters`);
      return list.body.items.find((d) => d.key === 'garbage-1');
    }, 'the unparseable record in the order service dead letters');
    expect(dead.attempts).toBe(1);
    expect(dead.error).toContain('not JSON');

    // Nothing can handle it: the operator discards it, which resolves it (kept INBOX_RETENTION more, then deleted).
    const discarded = await request(`${t.urls.order}/admin/dead-letters/${dead.id}/discard`, { method: 'POST' });
    expect(discarded.status).toBe(200);
    expect(discarded.body).toEqual({ discarded: true, id: dead.id });
    const listed = (await request<DeadLetterList>(`${t.urls.order}/admin/dead-letters`)).body.items.find((d) => d.id === dead.id);
    expect(listed?.discardedAt).toEqual(expect.any(String));
    const replayDiscarded = await request(`${t.urls.order}/admin/dead-letters/${dead.id}/replay`, { method: 'POST' });
    expect(replayDiscarded.status).toBe(409);
    expect(replayDiscarded.body.error).toBe('ALREADY_DISCARDED');
    expect((await request(`${t.urls.order}/admin/dead-letters/999999/discard`, { method: 'POST' })).status).toBe(404);
  });
});
