import { type FailedOrderStatus, type OrderStatus, TERMINAL_STATUSES } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import { type Order, type OrderEventDraft, type OrderProgressEvent, decideCancel, decideProgress } from './order.ts';

const orderIn = (status: OrderStatus): Order => ({
  orderId: 'order-1',
  customerId: 'customer-1',
  status,
  items: [{ productId: 'product-1', quantity: 2, unitPrice: 2999 }],
  total: 5998,
  currency: 'USD',
  trackingNumber: null,
  carrier: null,
  failureReason: null,
});

const inventoryConfirmed: OrderProgressEvent = { type: 'InventoryConfirmed' };
const paymentCompleted: OrderProgressEvent = { type: 'PaymentCompleted' };
const inventoryRejected: OrderProgressEvent = {
  type: 'InventoryRejected',
  data: { reason: 'OUT_OF_STOCK', productId: 'product-1', requested: 20, available: 10 },
};
const paymentFailed: OrderProgressEvent = { type: 'PaymentFailed', data: { reason: 'CARD_DECLINED: test trigger', amount: 5998, currency: 'USD' } };
const shipmentFailed: OrderProgressEvent = { type: 'ShipmentFailed', data: { reason: 'CARRIER_UNAVAILABLE' } };
const shipped: OrderProgressEvent = { type: 'Shipped', data: { shipmentId: 'ship-1', trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' } };

const ALL_EVENTS = [inventoryConfirmed, paymentCompleted, inventoryRejected, paymentFailed, shipmentFailed, shipped];
const LIVE_STATUSES = ['PENDING', 'INVENTORY_CONFIRMED', 'PAID'] as const;

/** A failure event, the terminal status it takes a live order to, and the reason it records. */
const FAILURES: { event: OrderProgressEvent; status: FailedOrderStatus; reason: string }[] = [
  { event: inventoryRejected, status: 'CANCELLED_NO_STOCK', reason: 'OUT_OF_STOCK: product-1 requested 20, available 10' },
  { event: paymentFailed, status: 'PAYMENT_FAILED', reason: 'CARD_DECLINED: test trigger' },
  { event: shipmentFailed, status: 'SHIPMENT_FAILED', reason: 'CARRIER_UNAVAILABLE' },
];

describe('decideProgress', () => {
  describe('success events move a live order forward only', () => {
    it.each([
      { from: 'PENDING', event: inventoryConfirmed, to: 'INVENTORY_CONFIRMED' },
      { from: 'INVENTORY_CONFIRMED', event: inventoryConfirmed, to: 'INVENTORY_CONFIRMED' },
      { from: 'PAID', event: inventoryConfirmed, to: 'PAID' },
      { from: 'PENDING', event: paymentCompleted, to: 'PAID' },
      { from: 'INVENTORY_CONFIRMED', event: paymentCompleted, to: 'PAID' },
      { from: 'PAID', event: paymentCompleted, to: 'PAID' },
    ] as const)('given a $from order, when $event.type arrives, then it is $to and nothing is emitted', ({ from, event, to }) => {
      const { order, events } = decideProgress(orderIn(from), event);

      expect(order).toEqual({ ...orderIn(from), status: to });
      expect(events).toEqual([]);
    });
  });

  describe('every failure ends a live order and emits OrderCancelled with the terminal status and reason', () => {
    it.each(LIVE_STATUSES.flatMap((from) => FAILURES.map((failure) => ({ from, ...failure }))))(
      'given a $from order, when $event.type arrives, then it is $status',
      ({ from, event, status, reason }) => {
        const { order, events } = decideProgress(orderIn(from), event);

        expect(order).toEqual({ ...orderIn(from), status, failureReason: reason });
        expect(events).toEqual([{ type: 'OrderCancelled', data: { status, reason } }]);
      },
    );
  });

  describe('Shipped completes a live order', () => {
    it.each(LIVE_STATUSES)('given a %s order, when Shipped arrives, then it is COMPLETED with tracking and OrderCompleted is emitted', (from) => {
      const { order, events } = decideProgress(orderIn(from), shipped);

      expect(order).toEqual({ ...orderIn(from), status: 'COMPLETED', trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' });
      expect(events).toEqual([{ type: 'OrderCompleted', data: { trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' } }]);
    });
  });

  describe('a terminal order ignores everything', () => {
    it.each(TERMINAL_STATUSES.flatMap((status) => ALL_EVENTS.map((event) => ({ status, event }))))(
      'given a $status order, when $event.type arrives, then nothing changes and nothing is emitted',
      ({ status, event }) => {
        const before = { ...orderIn(status), failureReason: status === 'COMPLETED' ? null : 'earlier reason' };

        const { order, events } = decideProgress(before, event);

        expect(order).toEqual(before);
        expect(events).toEqual([]);
      },
    );
  });

  describe('late, duplicate and reordered events', () => {
    it('given the happy path in order, when each event arrives, then the order ends COMPLETED with one OrderCompleted', () => {
      let order = orderIn('PENDING');
      const emitted: OrderEventDraft[] = [];
      for (const event of [inventoryConfirmed, paymentCompleted, shipped]) {
        const decision = decideProgress(order, event);
        order = decision.order;
        emitted.push(...decision.events);
      }

      expect(order.status).toBe('COMPLETED');
      expect(emitted).toEqual([{ type: 'OrderCompleted', data: { trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' } }]);
    });

    it('given PaymentCompleted came before InventoryConfirmed, when InventoryConfirmed arrives late, then the order stays PAID', () => {
      const paid = decideProgress(orderIn('PENDING'), paymentCompleted).order;

      expect(decideProgress(paid, inventoryConfirmed).order.status).toBe('PAID');
    });

    it.each(FAILURES)('given an order already ended by $event.type, when the same event is redelivered, then nothing more is emitted', ({ event }) => {
      const ended = decideProgress(orderIn('PAID'), event).order;

      expect(decideProgress(ended, event)).toEqual({ order: ended, events: [] });
    });

    it('given a COMPLETED order, when Shipped is redelivered, then OrderCompleted is not emitted again', () => {
      const completed = decideProgress(orderIn('PAID'), shipped).order;

      expect(decideProgress(completed, shipped)).toEqual({ order: completed, events: [] });
    });

    it('given a PAYMENT_FAILED order, when a late ShipmentFailed arrives, then the first failure and its reason stand', () => {
      const failed = decideProgress(orderIn('INVENTORY_CONFIRMED'), paymentFailed).order;

      const { order, events } = decideProgress(failed, shipmentFailed);

      expect(order.status).toBe('PAYMENT_FAILED');
      expect(order.failureReason).toBe('CARD_DECLINED: test trigger');
      expect(events).toEqual([]);
    });

    it('given a CANCELLED order, when a Shipped that crossed the cancellation arrives, then it stays CANCELLED without tracking', () => {
      const cancelled = orderIn('CANCELLED');

      const { order, events } = decideProgress(cancelled, shipped);

      expect(order).toEqual(cancelled);
      expect(events).toEqual([]);
    });

    it('given any order, when an event is decided, then the input order is not mutated', () => {
      const before = Object.freeze(orderIn('PAID'));

      for (const event of ALL_EVENTS) decideProgress(before, event);

      expect(before).toEqual(orderIn('PAID'));
    });
  });
});

describe('decideCancel', () => {
  it.each(LIVE_STATUSES)('given a %s order, when the customer cancels, then it is CANCELLED and OrderCancelled is emitted', (status) => {
    const result = decideCancel(orderIn(status));

    expect(result).toEqual({
      ok: true,
      decision: {
        order: { ...orderIn(status), status: 'CANCELLED', failureReason: 'CUSTOMER_REQUEST' },
        events: [{ type: 'OrderCancelled', data: { status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' } }],
      },
    });
  });

  it.each(TERMINAL_STATUSES)('given a %s order, when the customer cancels, then it is refused with a reason naming order and status', (status) => {
    const result = decideCancel(orderIn(status));

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain('order-1');
    expect(result.reason).toContain(status);
  });
});
