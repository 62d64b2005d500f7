import { EVENT_TOPIC, type EventDataOf, type EventOf, type EventType } from '@orderflow/contracts';
import { createEventFactory } from '@orderflow/platform';

/** Test helpers: events with chosen ids and event times. */
export const T0 = Date.parse('2025-03-01T10:00:00.000Z');
export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const SOURCE = { orders: 'order', inventory: 'inventory', payment: 'payment', notification: 'notification', shipping: 'shipping' } as const;

export const SAMPLE: { [T in EventType]: EventDataOf<T> } = {
  OrderCreated: { customerId: 'customer-1', items: [{ productId: 'product-1', quantity: 1, unitPrice: 2999 }], total: 2999, currency: 'USD' },
  OrderCancelled: { status: 'CANCELLED', reason: 'customer request' },
  OrderCompleted: { trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' },
  InventoryConfirmed: {
    customerId: 'customer-1',
    items: [{ productId: 'product-1', quantity: 1, unitPrice: 2999 }],
    total: 2999,
    currency: 'USD',
    levels: [{ productId: 'product-1', available: 99 }],
  },
  InventoryRejected: { reason: 'OUT_OF_STOCK', productId: 'product-1', requested: 20, available: 10 },
  InventoryReleased: { reason: 'PAYMENT_FAILED', items: [{ productId: 'product-1', quantity: 1 }], levels: [{ productId: 'product-1', available: 100 }] },
  InventoryRestocked: { productId: 'product-1', name: 'Premium Widget', unitPrice: 2999, currency: 'USD', quantity: 100, available: 100 },
  PaymentCompleted: { paymentId: 'pay-1', customerId: 'customer-1', amount: 2999, currency: 'USD' },
  PaymentFailed: { reason: 'card declined', amount: 2999, currency: 'USD' },
  PaymentRefunded: { paymentId: 'pay-1', amount: 2999, currency: 'USD', reason: 'SHIPMENT_FAILED' },
  Shipped: { shipmentId: 'ship-1', trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' },
  ShipmentFailed: { reason: 'carrier unavailable' },
  NotificationSent: { notificationId: 'note-1', customerId: 'customer-1', channel: 'email', template: 'ORDER_CONFIRMED' },
};

let counter = 0;

export function eventOf<T extends EventType>(
  type: T,
  options: { orderId?: string | null; second?: number; id?: string; data?: Partial<EventDataOf<T>> } = {},
): EventOf<T> {
  const id = options.id ?? `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
  const clock = { now: () => new Date(at(options.second ?? 0)) };
  const orderId = options.orderId === undefined ? (type === 'InventoryRestocked' ? null : 'order-1') : options.orderId;
  return createEventFactory(SOURCE[EVENT_TOPIC[type]], clock, () => id).create(type, orderId, { ...SAMPLE[type], ...options.data });
}
