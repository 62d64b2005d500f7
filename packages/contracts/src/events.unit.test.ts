import { ZodError } from 'zod';
import { describe, expect, it } from 'vitest';
import { EVENT_TOPIC, EVENT_TYPES, type EventDataOf, type EventType, isEventType, parseEvent } from './events.ts';
import { Topic } from './topics.ts';

const line = { productId: 'widget', quantity: 2, unitPrice: 2999 };

/** Valid data for every event type. */
const DATA: { [T in EventType]: EventDataOf<T> } = {
  OrderCreated: { customerId: 'customer-1', items: [line], total: 5998, currency: 'USD' },
  OrderCancelled: { status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' },
  OrderCompleted: { trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' },
  InventoryConfirmed: { customerId: 'customer-1', items: [line], total: 5998, currency: 'USD', levels: [{ productId: 'widget', available: 8 }] },
  InventoryRejected: { reason: 'OUT_OF_STOCK', productId: 'widget', requested: 20, available: 10 },
  InventoryReleased: { reason: 'PAYMENT_FAILED', items: [{ productId: 'widget', quantity: 2 }], levels: [{ productId: 'widget', available: 10 }] },
  InventoryRestocked: { productId: 'widget', name: 'Widget', unitPrice: 2999, currency: 'USD', quantity: 5, available: 15 },
  PaymentCompleted: { paymentId: 'pay-1', customerId: 'customer-1', amount: 5998, currency: 'USD' },
  PaymentFailed: { reason: 'CARD_DECLINED', amount: 5998, currency: 'USD' },
  PaymentRefunded: { paymentId: 'pay-1', amount: 5998, currency: 'USD', reason: 'SHIPMENT_FAILED' },
  Shipped: { shipmentId: 'ship-1', trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' },
  ShipmentFailed: { reason: 'CARRIER_UNAVAILABLE' },
  NotificationSent: { notificationId: 'note-1', customerId: 'customer-1', channel: 'email', template: 'ORDER_CONFIRMED' },
};

const envelope = (type: string, data: unknown, overrides: Record<string, unknown> = {}) => ({
  id: '6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
  type,
  version: 1,
  orderId: type === 'InventoryRestocked' ? null : 'order-1',
  occurredAt: '2025-03-01T10:00:00.000Z',
  source: 'test',
  correlationId: 'order-1',
  causationId: null,
  data,
  ...overrides,
});

const json = (value: unknown) => JSON.stringify(value);

describe('parseEvent', () => {
  it.each(EVENT_TYPES)('given a valid %s envelope, when parsed, then the typed event comes back unchanged', (type) => {
    const value = envelope(type, DATA[type]);

    expect(parseEvent(json(value))).toEqual(value);
  });

  it('given a value that is not JSON, when parsed, then it throws a SyntaxError', () => {
    expect(() => parseEvent('not json')).toThrow(SyntaxError);
  });

  it.each([
    { shape: 'an unknown event type', value: envelope('OrderTeleported', {}) },
    { shape: 'a JSON array', value: [1, 2, 3] },
    { shape: 'a bare string', value: 'OrderCreated' },
    { shape: 'an envelope without an id', value: { ...envelope('ShipmentFailed', DATA.ShipmentFailed), id: undefined } },
    { shape: 'an id that is not a uuid', value: envelope('ShipmentFailed', DATA.ShipmentFailed, { id: 'event-1' }) },
    { shape: 'a non-ISO occurredAt', value: envelope('ShipmentFailed', DATA.ShipmentFailed, { occurredAt: '1 March 2025' }) },
    { shape: 'version 0', value: envelope('ShipmentFailed', DATA.ShipmentFailed, { version: 0 }) },
    { shape: 'data of another type', value: envelope('PaymentCompleted', DATA.ShipmentFailed) },
    { shape: 'fractional money', value: envelope('PaymentFailed', { ...DATA.PaymentFailed, amount: 59.98 }) },
    { shape: 'a lowercase currency', value: envelope('OrderCreated', { ...DATA.OrderCreated, currency: 'usd' }) },
    { shape: 'an OrderCreated without items', value: envelope('OrderCreated', { ...DATA.OrderCreated, items: [] }) },
    { shape: 'an OrderCancelled with a live status', value: envelope('OrderCancelled', { status: 'PAID', reason: 'x' }) },
  ])('given $shape, when parsed, then it throws a ZodError', ({ value }) => {
    expect(() => parseEvent(json(value))).toThrow(ZodError);
  });

  it.each(['TRK1234', 'TRK1a2b3c4d', 'TRK1A2B3C4DE', 'XYZ1A2B3C4D', 'TRK1A2B3C4G'])(
    'given a Shipped with tracking number %s, when parsed, then it is rejected on data.trackingNumber',
    (trackingNumber) => {
      const value = envelope('Shipped', { ...DATA.Shipped, trackingNumber });

      let error: unknown;
      try {
        parseEvent(json(value));
      } catch (caught) {
        error = caught;
      }

      expect(error).toBeInstanceOf(ZodError);
      if (error instanceof ZodError) expect(error.issues.map((issue) => issue.path.join('.'))).toEqual(['data.trackingNumber']);
    },
  );
});

describe('event catalogue', () => {
  it('given every event type, when its topic is looked up, then it is the topic of the owning service', () => {
    const owner = (type: EventType) =>
      type.startsWith('Order') ? Topic.orders
      : type.startsWith('Inventory') ? Topic.inventory
      : type.startsWith('Payment') ? Topic.payment
      : type.startsWith('Ship') ? Topic.shipping
      : Topic.notification;

    for (const type of EVENT_TYPES) expect(EVENT_TOPIC[type]).toBe(owner(type));
  });

  it('given type names, when checked, then only the catalogue types are event types', () => {
    expect(EVENT_TYPES.every(isEventType)).toBe(true);
    expect(isEventType('toString')).toBe(false);
    expect(isEventType('OrderTeleported')).toBe(false);
  });
});
