import type { OrderView } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import { SEEN_ON_WEBSOCKET, timeSinceSent } from './order-steps.ts';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

/** A completed order's view whose events happened `offsets` ms after T0 (only what the breakdown reads is filled in). */
function viewOf(orderId: string, offsets: Record<string, number>): OrderView {
  const step = { state: 'done' as const, at: null };
  return {
    orderId,
    customerId: 'customer-1',
    status: 'COMPLETED',
    items: [],
    total: 100,
    currency: 'USD',
    steps: { created: step, inventory: step, payment: step, notification: step, shipping: step },
    timeline: Object.entries(offsets).map(([type, ms], i) => ({
      eventId: `${orderId}-${i}`,
      type,
      occurredAt: new Date(T0 + ms).toISOString(),
      source: 'test',
      detail: null,
    })),
    trackingNumber: null,
    carrier: null,
    failureReason: null,
    createdAt: null,
    updatedAt: null,
  };
}

describe('timeSinceSent', () => {
  it('gives each event type its time since the POST, then the WebSocket, in the order of their medians', () => {
    const views = [
      viewOf('a', { OrderCreated: 2, InventoryConfirmed: 10, PaymentCompleted: 20, Shipped: 31, NotificationSent: 29, OrderCompleted: 40 }),
      viewOf('b', { OrderCreated: 4, InventoryConfirmed: 14, PaymentCompleted: 30, Shipped: 41, NotificationSent: 45, OrderCompleted: 50 }),
    ];
    const times = new Map([
      ['a', { sentMs: T0, seenMs: T0 + 43 }],
      ['b', { sentMs: T0 + 1, seenMs: T0 + 56 }],
    ]);
    const figures = timeSinceSent(views, times);
    expect(Object.keys(figures)).toEqual(['OrderCreated', 'InventoryConfirmed', 'PaymentCompleted', 'Shipped', 'NotificationSent', 'OrderCompleted', SEEN_ON_WEBSOCKET]);
    // Two orders: p50 is the higher of the two (the percentile rounds down to an index), p95 too.
    expect(figures.OrderCreated).toEqual({ p50: 3, p95: 3, orders: 2 });
    expect(figures.InventoryConfirmed).toEqual({ p50: 13, p95: 13, orders: 2 });
    expect(figures[SEEN_ON_WEBSOCKET]).toEqual({ p50: 55, p95: 55, orders: 2 });
  });

  it('leaves out views of orders it has no times for', () => {
    const figures = timeSinceSent([viewOf('a', { OrderCreated: 5 }), viewOf('z', { OrderCreated: 900 })], new Map([['a', { sentMs: T0, seenMs: T0 + 9 }]]));
    expect(figures.OrderCreated).toEqual({ p50: 5, p95: 5, orders: 1 });
  });
});
