import { z } from 'zod';
import { EnvelopeSchema } from './envelope.ts';
import { Topic } from './topics.ts';

const ProductId = z.string().min(1).max(64);
const Quantity = z.number().int().positive();
/** Money is integer minor units (cents for USD), never floating point. */
const MinorUnits = z.number().int().nonnegative();
const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD');

export const OrderLine = z.object({ productId: ProductId, quantity: Quantity, unitPrice: MinorUnits });
export type OrderLine = z.infer<typeof OrderLine>;
export const StockLine = z.object({ productId: ProductId, quantity: Quantity });
export type StockLine = z.infer<typeof StockLine>;
export const StockLevel = z.object({ productId: ProductId, available: z.number().int().nonnegative() });
export type StockLevel = z.infer<typeof StockLevel>;

export const FailedOrderStatus = z.enum(['CANCELLED', 'CANCELLED_NO_STOCK', 'PAYMENT_FAILED', 'SHIPMENT_FAILED']);
export type FailedOrderStatus = z.infer<typeof FailedOrderStatus>;

/** Each event's data. The envelope around it is the same for all. */
export const EventData = {
  OrderCreated: z.object({
    customerId: z.string().min(1),
    items: z.array(OrderLine).min(1),
    total: MinorUnits,
    currency: Currency,
  }),
  /** The order ended without shipping; `status` is the terminal status it took. */
  OrderCancelled: z.object({ status: FailedOrderStatus, reason: z.string().min(1) }),
  OrderCompleted: z.object({ trackingNumber: z.string(), carrier: z.string() }),

  /** Carries what payment needs, so payment never depends on reading the orders topic first. */
  InventoryConfirmed: z.object({
    customerId: z.string().min(1),
    items: z.array(OrderLine).min(1),
    total: MinorUnits,
    currency: Currency,
    levels: z.array(StockLevel),
  }),
  InventoryRejected: z.object({
    reason: z.enum(['OUT_OF_STOCK', 'UNKNOWN_PRODUCT']),
    productId: ProductId,
    requested: Quantity,
    available: z.number().int().nonnegative(),
  }),
  InventoryReleased: z.object({ reason: z.string().min(1), items: z.array(StockLine), levels: z.array(StockLevel) }),
  InventoryRestocked: z.object({
    productId: ProductId,
    name: z.string(),
    unitPrice: MinorUnits,
    currency: Currency,
    quantity: z.number().int().nonnegative(),
    available: z.number().int().nonnegative(),
  }),

  PaymentCompleted: z.object({ paymentId: z.string(), customerId: z.string(), amount: MinorUnits, currency: Currency }),
  PaymentFailed: z.object({ reason: z.string().min(1), amount: MinorUnits, currency: Currency }),
  PaymentRefunded: z.object({ paymentId: z.string(), amount: MinorUnits, currency: Currency, reason: z.string() }),

  Shipped: z.object({
    shipmentId: z.string(),
    trackingNumber: z.string().regex(/^TRK[0-9A-F]{8}$/, 'TRK followed by 8 hex digits'),
    carrier: z.string(),
  }),
  ShipmentFailed: z.object({ reason: z.string().min(1) }),

  NotificationSent: z.object({
    notificationId: z.string(),
    customerId: z.string(),
    channel: z.enum(['email']),
    template: z.enum(['ORDER_CONFIRMED']),
  }),
} as const;

export type EventType = keyof typeof EventData;
export type EventDataOf<T extends EventType> = z.infer<(typeof EventData)[T]>;

/** The topic each event is published on: the topic of the service that owns the fact. */
export const EVENT_TOPIC: Record<EventType, Topic> = {
  OrderCreated: Topic.orders,
  OrderCancelled: Topic.orders,
  OrderCompleted: Topic.orders,
  InventoryConfirmed: Topic.inventory,
  InventoryRejected: Topic.inventory,
  InventoryReleased: Topic.inventory,
  InventoryRestocked: Topic.inventory,
  PaymentCompleted: Topic.payment,
  PaymentFailed: Topic.payment,
  PaymentRefunded: Topic.payment,
  Shipped: Topic.shipping,
  ShipmentFailed: Topic.shipping,
  NotificationSent: Topic.notification,
};

export const EVENT_TYPES = Object.keys(EventData) as EventType[];
export const EVENT_VERSION = 1;

function envelopeOf<T extends EventType>(type: T) {
  return EnvelopeSchema.extend({ type: z.literal(type), data: EventData[type] as (typeof EventData)[T] });
}

export const EventSchemas = Object.fromEntries(EVENT_TYPES.map((t) => [t, envelopeOf(t)])) as {
  [T in EventType]: ReturnType<typeof envelopeOf<T>>;
};

/** A fully typed event: envelope plus the data of its type. */
export type OrderflowEvent = { [T in EventType]: z.infer<(typeof EventSchemas)[T]> }[EventType];
export type EventOf<T extends EventType> = Extract<OrderflowEvent, { type: T }>;

export const OrderflowEventSchema = z.discriminatedUnion(
  'type',
  EVENT_TYPES.map((t) => EventSchemas[t]) as unknown as [
    ReturnType<typeof envelopeOf<EventType>>,
    ...ReturnType<typeof envelopeOf<EventType>>[],
  ],
);

export const isEventType = (type: string): type is EventType => Object.hasOwn(EventData, type);

/**
 * Parses a record's value. Throws a ZodError (or SyntaxError for bad JSON); the bus
 * sends such a record to the dead-letter topic at once.
 */
export function parseEvent(value: string): OrderflowEvent {
  return OrderflowEventSchema.parse(JSON.parse(value)) as OrderflowEvent;
}
