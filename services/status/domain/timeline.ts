import { type EventType, type OrderflowEvent, type TimelineEntry, isEventType } from '@orderflow/contracts';

const money = (amount: number, currency: string) => `${amount} ${currency}`;
const lines = (items: readonly { productId: string; quantity: number }[]) => items.map((i) => `${i.productId} x${i.quantity}`).join(', ');

/** A short human summary of what an event says, for the order's timeline. Money in minor units. */
export function describeEvent(event: OrderflowEvent): string {
  switch (event.type) {
    case 'OrderCreated':
      return `${lines(event.data.items)}, total ${money(event.data.total, event.data.currency)}`;
    case 'OrderCancelled':
      return `${event.data.status}: ${event.data.reason}`;
    case 'OrderCompleted':
    case 'Shipped':
      return `tracking ${event.data.trackingNumber} via ${event.data.carrier}`;
    case 'InventoryConfirmed':
      return `reserved ${lines(event.data.items)}`;
    case 'InventoryRejected':
      return `${event.data.reason}: ${event.data.productId} requested ${event.data.requested}, available ${event.data.available}`;
    case 'InventoryReleased':
      return `released ${lines(event.data.items)} (${event.data.reason})`;
    case 'InventoryRestocked':
      return `restocked ${event.data.productId} +${event.data.quantity}, available ${event.data.available}`;
    case 'PaymentCompleted':
      return `charged ${money(event.data.amount, event.data.currency)}`;
    case 'PaymentFailed':
      return `${event.data.reason} (${money(event.data.amount, event.data.currency)})`;
    case 'PaymentRefunded':
      return `refunded ${money(event.data.amount, event.data.currency)}`;
    case 'ShipmentFailed':
      return event.data.reason;
    case 'NotificationSent':
      return `${event.data.template} ${event.data.channel} to ${event.data.customerId}`;
    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Where an event sits in the saga, to order events with the same event time (services
 * on one machine often stamp the same millisecond). With the event id as the last tie
 * breaker the timeline is the same whatever order the topics were read in.
 */
const SAGA_STAGE: Record<EventType, number> = {
  OrderCreated: 0,
  InventoryConfirmed: 1,
  InventoryRejected: 1,
  InventoryRestocked: 1,
  PaymentCompleted: 2,
  PaymentFailed: 2,
  Shipped: 3,
  ShipmentFailed: 3,
  NotificationSent: 3,
  OrderCompleted: 4,
  OrderCancelled: 4,
  InventoryReleased: 5,
  PaymentRefunded: 5,
};
const stageOf = (type: string) => (isEventType(type) ? SAGA_STAGE[type] : Number.MAX_SAFE_INTEGER);

/** Event-time order; ISO strings of different precision do not sort as text, so compare as dates. */
export const byEventTime = (a: TimelineEntry, b: TimelineEntry): number =>
  Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || stageOf(a.type) - stageOf(b.type) || a.eventId.localeCompare(b.eventId);

export function addToTimeline(timeline: readonly TimelineEntry[], event: OrderflowEvent): TimelineEntry[] {
  const entry: TimelineEntry = {
    eventId: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    source: event.source,
    detail: describeEvent(event),
  };
  return [...timeline, entry].sort(byEventTime);
}

/** The later of two event times; null means none seen yet. */
export const laterOf = (a: string | null, b: string): string => (a !== null && Date.parse(a) >= Date.parse(b) ? a : b);
