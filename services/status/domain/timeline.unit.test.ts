import { EVENT_TYPES, type OrderflowEvent } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import { eventOf } from './events.fixture.ts';
import { addToTimeline, describeEvent, laterOf } from './timeline.ts';

describe('describeEvent', () => {
  const expected: Record<OrderflowEvent['type'], string> = {
    OrderCreated: 'product-1 x1, total 2999 USD',
    OrderCancelled: 'CANCELLED: customer request',
    OrderCompleted: 'tracking TRK1A2B3C4D via DHL',
    InventoryConfirmed: 'reserved product-1 x1',
    InventoryRejected: 'OUT_OF_STOCK: product-1 requested 20, available 10',
    InventoryReleased: 'released product-1 x1 (PAYMENT_FAILED)',
    InventoryRestocked: 'restocked product-1 +100, available 100',
    PaymentCompleted: 'charged 2999 USD',
    PaymentFailed: 'card declined (2999 USD)',
    PaymentRefunded: 'refunded 2999 USD',
    Shipped: 'tracking TRK1A2B3C4D via DHL',
    ShipmentFailed: 'carrier unavailable',
    NotificationSent: 'ORDER_CONFIRMED email to customer-1',
  };
  for (const type of EVENT_TYPES) {
    it(`summarises ${type}`, () => expect(describeEvent(eventOf(type))).toBe(expected[type]));
  }
});

describe('addToTimeline', () => {
  it('sorts by event time, comparing instants rather than text', () => {
    const later = { ...eventOf('PaymentCompleted'), occurredAt: '2025-03-01T10:00:01Z' };
    const earlier = { ...eventOf('OrderCreated'), occurredAt: '2025-03-01T10:00:00.500Z' };
    const timeline = addToTimeline(addToTimeline([], later), earlier);
    expect(timeline.map((e) => e.type)).toEqual(['OrderCreated', 'PaymentCompleted']);
  });

  it('does not change the timeline it is given', () => {
    const first = addToTimeline([], eventOf('OrderCreated'));
    addToTimeline(first, eventOf('PaymentCompleted'));
    expect(first).toHaveLength(1);
  });
});

describe('laterOf', () => {
  it('keeps the later instant, and takes any time over none', () => {
    expect(laterOf(null, '2025-03-01T10:00:00Z')).toBe('2025-03-01T10:00:00Z');
    expect(laterOf('2025-03-01T10:00:02Z', '2025-03-01T10:00:01.999Z')).toBe('2025-03-01T10:00:02Z');
    expect(laterOf('2025-03-01T10:00:02Z', '2025-03-01T10:00:02.001Z')).toBe('2025-03-01T10:00:02.001Z');
  });
});
