import type { OrderflowEvent, OrderView } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import { at, eventOf } from './events.fixture.ts';
import { evolveOrderView } from './order-projection.ts';

const project = (events: readonly OrderflowEvent[], from?: OrderView) =>
  events.reduce<OrderView | undefined>((view, event) => evolveOrderView(view, event), from);

function mustProject(events: readonly OrderflowEvent[]): OrderView {
  const view = project(events);
  if (!view) throw new Error('expected a view');
  return view;
}

const created = eventOf('OrderCreated', { second: 0 });
const confirmed = eventOf('InventoryConfirmed', { second: 1 });
const paid = eventOf('PaymentCompleted', { second: 2 });
const shipped = eventOf('Shipped', { second: 3 });
const notified = eventOf('NotificationSent', { second: 4 });
const completed = eventOf('OrderCompleted', { second: 5 });
const happyPath = [created, confirmed, paid, shipped, notified, completed];

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('evolveOrderView: the happy path', () => {
  it('given the whole saga in order, the order is COMPLETED with every step done at its event time', () => {
    const view = mustProject(happyPath);
    expect(view).toMatchObject({
      orderId: 'order-1',
      customerId: 'customer-1',
      status: 'COMPLETED',
      items: [{ productId: 'product-1', quantity: 1, unitPrice: 2999 }],
      total: 2999,
      currency: 'USD',
      trackingNumber: 'TRK1A2B3C4D',
      carrier: 'DHL',
      failureReason: null,
      createdAt: at(0),
      updatedAt: at(5),
    });
    expect(view.steps).toEqual({
      created: { state: 'done', at: at(0) },
      inventory: { state: 'done', at: at(1) },
      payment: { state: 'done', at: at(2) },
      shipping: { state: 'done', at: at(3) },
      notification: { state: 'done', at: at(4) },
    });
    expect(view.timeline.map((e) => e.type)).toEqual(['OrderCreated', 'InventoryConfirmed', 'PaymentCompleted', 'Shipped', 'NotificationSent', 'OrderCompleted']);
    expect(view.timeline[0]).toEqual({ eventId: created.id, type: 'OrderCreated', occurredAt: at(0), source: 'order', detail: 'product-1 x1, total 2999 USD' });
  });

  it('given OrderCreated only, the order is PENDING with only the created step done', () => {
    const view = mustProject([created]);
    expect(view.status).toBe('PENDING');
    expect(view.steps.created).toEqual({ state: 'done', at: at(0) });
    expect(view.steps.inventory).toEqual({ state: 'pending', at: null });
    expect(view.trackingNumber).toBeNull();
  });

  it('moves PENDING -> INVENTORY_CONFIRMED -> PAID', () => {
    expect(mustProject([created, confirmed]).status).toBe('INVENTORY_CONFIRMED');
    expect(mustProject([created, confirmed, paid]).status).toBe('PAID');
  });

  it('given Shipped but not yet OrderCompleted, the order stays PAID with its tracking number', () => {
    const view = mustProject([created, confirmed, paid, shipped]);
    expect(view.status).toBe('PAID');
    expect(view.steps.shipping).toEqual({ state: 'done', at: at(3) });
    expect(view).toMatchObject({ trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' });
  });
});

describe('evolveOrderView: events out of order', () => {
  it('given PaymentCompleted before OrderCreated, creates the view with no customer or items yet', () => {
    const view = mustProject([paid]);
    expect(view).toMatchObject({ orderId: 'order-1', customerId: null, items: [], total: 0, status: 'PAID', createdAt: null, updatedAt: at(2) });
    expect(view.steps.payment).toEqual({ state: 'done', at: at(2) });
    expect(view.steps.created).toEqual({ state: 'pending', at: null });
  });

  it('then OrderCreated fills the order in, keeps PAID and sorts the timeline by event time', () => {
    const view = mustProject([paid, created]);
    expect(view).toMatchObject({ customerId: 'customer-1', total: 2999, status: 'PAID', createdAt: at(0), updatedAt: at(2) });
    expect(view.timeline.map((e) => e.type)).toEqual(['OrderCreated', 'PaymentCompleted']);
  });

  it('a late InventoryConfirmed after PaymentCompleted never takes the order back', () => {
    expect(mustProject([created, paid, confirmed]).status).toBe('PAID');
  });

  it('a late event with an older event time does not move updatedAt back', () => {
    expect(mustProject([created, completed, confirmed]).updatedAt).toBe(at(5));
  });

  it('OrderCompleted before Shipped: COMPLETED with the tracking number, shipping step done only once Shipped arrives', () => {
    const early = mustProject([created, confirmed, paid, completed]);
    expect(early).toMatchObject({ status: 'COMPLETED', trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' });
    expect(early.steps.shipping.state).toBe('pending');
    expect(mustProject([created, confirmed, paid, completed, shipped]).steps.shipping).toEqual({ state: 'done', at: at(3) });
  });

  it('events with the same event time are ordered by saga stage, whatever the arrival order', () => {
    const sameTimeCreated = eventOf('OrderCreated', { second: 7 });
    const sameTimeConfirmed = eventOf('InventoryConfirmed', { second: 7 });
    const view = mustProject([sameTimeConfirmed, sameTimeCreated]);
    expect(view.timeline.map((e) => e.type)).toEqual(['OrderCreated', 'InventoryConfirmed']);
  });

  it('every arrival order of the happy path gives the same view', () => {
    const expected = mustProject(happyPath);
    for (const order of permutations(happyPath)) expect(mustProject(order)).toEqual(expected);
  });

  it('every arrival order of a shipment failure gives the same view', () => {
    const events = [
      created,
      confirmed,
      paid,
      eventOf('ShipmentFailed', { second: 3 }),
      eventOf('PaymentRefunded', { second: 4 }),
      eventOf('OrderCancelled', { second: 4, data: { status: 'SHIPMENT_FAILED', reason: 'carrier unavailable' } }),
    ];
    const expected = mustProject(events);
    expect(expected.status).toBe('SHIPMENT_FAILED');
    for (const order of permutations(events)) expect(mustProject(order)).toEqual(expected);
  });
});

describe('evolveOrderView: duplicates', () => {
  it('a redelivered event (same id) returns the same view object', () => {
    const view = mustProject(happyPath);
    for (const event of happyPath) expect(evolveOrderView(view, event)).toBe(view);
  });

  it('a duplicate delivered later in the stream changes nothing', () => {
    expect(mustProject([created, confirmed, created, paid, confirmed, paid])).toEqual(mustProject([created, confirmed, paid]));
  });

  it('a second event of a settled step (new id) is on the timeline but does not change the step', () => {
    const again = eventOf('Shipped', { second: 9, data: { trackingNumber: 'TRKFFFFFFFF', carrier: 'UPS' } });
    const view = mustProject([...happyPath, again]);
    expect(view.steps.shipping).toEqual({ state: 'done', at: at(3) });
    expect(view).toMatchObject({ trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' });
    expect(view.timeline).toHaveLength(7);
  });

  it('a PaymentFailed after PaymentCompleted does not change the settled payment step', () => {
    const view = mustProject([created, confirmed, paid, eventOf('PaymentFailed', { second: 3 })]);
    expect(view.steps.payment).toEqual({ state: 'done', at: at(2) });
    expect(view.status).toBe('PAID');
  });
});

describe('evolveOrderView: late events after the end', () => {
  it('a late NotificationSent after OrderCompleted does not change COMPLETED', () => {
    const view = mustProject([created, confirmed, paid, shipped, completed, eventOf('NotificationSent', { second: 6 })]);
    expect(view.status).toBe('COMPLETED');
    expect(view.steps.notification).toEqual({ state: 'done', at: at(6) });
    expect(view.updatedAt).toBe(at(6));
    expect(view.timeline.at(-1)?.type).toBe('NotificationSent');
  });

  it('a late InventoryConfirmed after OrderCancelled keeps CANCELLED and marks the inventory step', () => {
    const cancelled = eventOf('OrderCancelled', { second: 2, data: { status: 'CANCELLED', reason: 'cancelled by the customer' } });
    const view = mustProject([created, cancelled, confirmed]);
    expect(view).toMatchObject({ status: 'CANCELLED', failureReason: 'cancelled by the customer' });
    expect(view.steps.inventory).toEqual({ state: 'done', at: at(1) });
    expect(view.timeline.map((e) => e.type)).toEqual(['OrderCreated', 'InventoryConfirmed', 'OrderCancelled']);
  });

  it('a late PaymentCompleted after PAYMENT_FAILED keeps PAYMENT_FAILED', () => {
    const cancelled = eventOf('OrderCancelled', { second: 3, data: { status: 'PAYMENT_FAILED', reason: 'card declined' } });
    expect(mustProject([created, cancelled, paid]).status).toBe('PAYMENT_FAILED');
  });

  it('a terminal status is final: OrderCancelled after OrderCompleted changes nothing but the timeline', () => {
    const view = mustProject([...happyPath, eventOf('OrderCancelled', { second: 9 })]);
    expect(view).toMatchObject({ status: 'COMPLETED', failureReason: null });
  });

  it('a terminal status is final: OrderCompleted after OrderCancelled keeps CANCELLED', () => {
    const view = mustProject([created, eventOf('OrderCancelled', { second: 1 }), completed]);
    expect(view).toMatchObject({ status: 'CANCELLED', failureReason: 'customer request' });
  });
});

describe('evolveOrderView: failure paths', () => {
  it('out of stock: InventoryRejected fails the step; the status is CANCELLED_NO_STOCK only once OrderCancelled says so', () => {
    const rejected = eventOf('InventoryRejected', { second: 1 });
    const pending = mustProject([created, rejected]);
    expect(pending.status).toBe('PENDING');
    expect(pending.steps.inventory).toEqual({ state: 'failed', at: at(1) });
    expect(pending.timeline[1]?.detail).toBe('OUT_OF_STOCK: product-1 requested 20, available 10');

    const reason = 'OUT_OF_STOCK: product-1 requested 20, available 10';
    const view = mustProject([created, rejected, eventOf('OrderCancelled', { second: 2, data: { status: 'CANCELLED_NO_STOCK', reason } })]);
    expect(view).toMatchObject({ status: 'CANCELLED_NO_STOCK', failureReason: reason });
    expect(view.steps.payment.state).toBe('pending');
  });

  it('payment failed: payment step failed, inventory released, PAYMENT_FAILED', () => {
    const view = mustProject([
      created,
      confirmed,
      eventOf('PaymentFailed', { second: 2 }),
      eventOf('InventoryReleased', { second: 3 }),
      eventOf('OrderCancelled', { second: 3, data: { status: 'PAYMENT_FAILED', reason: 'card declined' } }),
    ]);
    expect(view).toMatchObject({ status: 'PAYMENT_FAILED', failureReason: 'card declined' });
    expect(view.steps.inventory.state).toBe('done');
    expect(view.steps.payment).toEqual({ state: 'failed', at: at(2) });
    expect(view.timeline.map((e) => e.type)).toEqual(['OrderCreated', 'InventoryConfirmed', 'PaymentFailed', 'OrderCancelled', 'InventoryReleased']);
  });

  it('shipment failed: shipping step failed, refund on the timeline, SHIPMENT_FAILED', () => {
    const view = mustProject([
      created,
      confirmed,
      paid,
      eventOf('ShipmentFailed', { second: 3 }),
      notified,
      eventOf('OrderCancelled', { second: 5, data: { status: 'SHIPMENT_FAILED', reason: 'carrier unavailable' } }),
      eventOf('PaymentRefunded', { second: 6 }),
      eventOf('InventoryReleased', { second: 6 }),
    ]);
    expect(view).toMatchObject({ status: 'SHIPMENT_FAILED', failureReason: 'carrier unavailable', trackingNumber: null });
    expect(view.steps.shipping).toEqual({ state: 'failed', at: at(3) });
    expect(view.steps.notification.state).toBe('done');
    expect(view.timeline.find((e) => e.type === 'PaymentRefunded')?.detail).toBe('refunded 2999 USD');
  });

  it('cancelled by the customer before shipment: CANCELLED with the reason', () => {
    const view = mustProject([created, confirmed, eventOf('OrderCancelled', { second: 2, data: { status: 'CANCELLED', reason: 'cancelled by the customer' } })]);
    expect(view).toMatchObject({ status: 'CANCELLED', failureReason: 'cancelled by the customer' });
    expect(view.steps.payment.state).toBe('pending');
  });

  it('participant failure events never set a terminal status on their own', () => {
    for (const type of ['PaymentFailed', 'ShipmentFailed'] as const) {
      expect(mustProject([created, confirmed, eventOf(type, { second: 2 })]).status).toBe('INVENTORY_CONFIRMED');
    }
  });
});

describe('evolveOrderView: events about no order or another order', () => {
  it('InventoryRestocked (orderId null) creates no view and leaves a view unchanged', () => {
    const restocked = eventOf('InventoryRestocked');
    expect(evolveOrderView(undefined, restocked)).toBeUndefined();
    const view = mustProject([created]);
    expect(evolveOrderView(view, restocked)).toBe(view);
  });

  it("an event of another order does not touch this order's view", () => {
    const view = mustProject([created]);
    expect(evolveOrderView(view, eventOf('PaymentCompleted', { orderId: 'order-2' }))).toBe(view);
  });
});
