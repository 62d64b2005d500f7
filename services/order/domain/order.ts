import {
  type EventDataOf,
  type FailedOrderStatus,
  type MessageDataOf,
  type OrderLine,
  type OrderStatus,
  advanceStatus,
  isTerminal,
} from '@orderflow/contracts';

export interface Order {
  orderId: string;
  customerId: string;
  status: OrderStatus;
  items: OrderLine[];
  total: number;
  currency: string;
  trackingNumber: string | null;
  carrier: string | null;
  failureReason: string | null;
}

/** The events from other services that move an order along. */
export type OrderProgressEvent =
  | { type: 'InventoryConfirmed' }
  | { type: 'InventoryRejected'; data: EventDataOf<'InventoryRejected'> }
  | { type: 'PaymentCompleted' }
  | { type: 'PaymentFailed'; data: EventDataOf<'PaymentFailed'> }
  | { type: 'Shipped'; data: EventDataOf<'Shipped'> }
  | { type: 'ShipmentFailed'; data: EventDataOf<'ShipmentFailed'> }
  // Orchestration: the orchestrator decides the end and tells the order.
  | { type: 'CompleteOrder'; data: MessageDataOf<'CompleteOrder'> }
  | { type: 'CancelOrder'; data: MessageDataOf<'CancelOrder'> };

export type OrderEventDraft =
  | { type: 'OrderCancelled'; data: EventDataOf<'OrderCancelled'> }
  | { type: 'OrderCompleted'; data: EventDataOf<'OrderCompleted'> };

export interface OrderDecision {
  order: Order;
  events: OrderEventDraft[];
}

const unchanged = (order: Order): OrderDecision => ({ order, events: [] });

function fail(order: Order, status: FailedOrderStatus, reason: string): OrderDecision {
  if (isTerminal(order.status) || advanceStatus(order.status, status) !== status) return unchanged(order);
  return { order: { ...order, status, failureReason: reason }, events: [{ type: 'OrderCancelled', data: { status, reason } }] };
}

/**
 * How an order reacts to its participants' events. Status only moves forward and a
 * terminal order ignores everything, so late, duplicate or reordered events are
 * harmless. Every unsuccessful end emits OrderCancelled with the terminal status, so
 * the orders topic alone tells how each order ended.
 */
export function decideProgress(order: Order, event: OrderProgressEvent): OrderDecision {
  switch (event.type) {
    case 'InventoryConfirmed':
      return { order: { ...order, status: advanceStatus(order.status, 'INVENTORY_CONFIRMED') }, events: [] };
    case 'PaymentCompleted':
      return { order: { ...order, status: advanceStatus(order.status, 'PAID') }, events: [] };
    case 'InventoryRejected':
      return fail(order, 'CANCELLED_NO_STOCK', `${event.data.reason}: ${event.data.productId} requested ${event.data.requested}, available ${event.data.available}`);
    case 'PaymentFailed':
      return fail(order, 'PAYMENT_FAILED', event.data.reason);
    case 'ShipmentFailed':
      return fail(order, 'SHIPMENT_FAILED', event.data.reason);
    case 'CancelOrder':
      return fail(order, event.data.status, event.data.reason);
    case 'Shipped':
    case 'CompleteOrder': {
      if (isTerminal(order.status)) return unchanged(order);
      const { trackingNumber, carrier } = event.data;
      return {
        order: { ...order, status: 'COMPLETED', trackingNumber, carrier },
        events: [{ type: 'OrderCompleted', data: { trackingNumber, carrier } }],
      };
    }
    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}

export type CancelDecision = { ok: true; decision: OrderDecision } | { ok: false; reason: string };

/** A customer may cancel until the order has shipped or otherwise ended. */
export function decideCancel(order: Order): CancelDecision {
  if (isTerminal(order.status)) {
    return { ok: false, reason: `order ${order.orderId} is ${order.status}; only an order that has not shipped or ended can be cancelled` };
  }
  return { ok: true, decision: fail(order, 'CANCELLED', 'CUSTOMER_REQUEST') };
}
