import { type OrderStatus, type OrderView, type OrderflowEvent, type StepName, type StepView, advanceStatus } from '@orderflow/contracts';
import { addToTimeline, laterOf } from './timeline.ts';

const PENDING: StepView = { state: 'pending', at: null };

export function emptyOrderView(orderId: string): OrderView {
  return {
    orderId,
    customerId: null,
    status: 'PENDING',
    items: [],
    total: 0,
    currency: '',
    steps: { created: PENDING, inventory: PENDING, payment: PENDING, notification: PENDING, shipping: PENDING },
    timeline: [],
    trackingNumber: null,
    carrier: null,
    failureReason: null,
    createdAt: null,
    updatedAt: null,
  };
}

/** A step is settled once, by the first event of its kind; `at` is that event's time. */
function settle(view: OrderView, step: StepName, state: 'done' | 'failed', at: string): OrderView {
  if (view.steps[step].state !== 'pending') return view;
  return { ...view, steps: { ...view.steps, [step]: { state, at } } };
}

const advance = (view: OrderView, target: OrderStatus): OrderView => ({ ...view, status: advanceStatus(view.status, target) });

/** What one event says about its order, apart from the timeline and updatedAt. */
function applyFact(view: OrderView, event: OrderflowEvent): OrderView {
  const at = event.occurredAt;
  switch (event.type) {
    case 'OrderCreated': {
      const { customerId, items, total, currency } = event.data;
      return settle({ ...view, customerId, items, total, currency, createdAt: at }, 'created', 'done', at);
    }
    // The terminal status comes only from the orders topic: the order service decides
    // how an order ends, and one topic keeps one order's events in order. Participants'
    // failure events only mark their step.
    case 'OrderCancelled': {
      const status = advanceStatus(view.status, event.data.status);
      return status === view.status ? view : { ...view, status, failureReason: event.data.reason };
    }
    case 'OrderCompleted':
      return {
        ...advance(view, 'COMPLETED'),
        trackingNumber: view.trackingNumber ?? event.data.trackingNumber,
        carrier: view.carrier ?? event.data.carrier,
      };
    case 'InventoryConfirmed':
      return settle(advance(view, 'INVENTORY_CONFIRMED'), 'inventory', 'done', at);
    case 'InventoryRejected':
      return settle(view, 'inventory', 'failed', at);
    case 'PaymentCompleted':
      return settle(advance(view, 'PAID'), 'payment', 'done', at);
    case 'PaymentFailed':
      return settle(view, 'payment', 'failed', at);
    case 'NotificationSent':
      return settle(view, 'notification', 'done', at);
    case 'Shipped': {
      if (view.steps.shipping.state !== 'pending') return view;
      return settle({ ...view, trackingNumber: event.data.trackingNumber, carrier: event.data.carrier }, 'shipping', 'done', at);
    }
    case 'ShipmentFailed':
      return settle(view, 'shipping', 'failed', at);
    case 'InventoryReleased':
    case 'PaymentRefunded':
    case 'InventoryRestocked':
      return view;
    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The status read model of one order, evolved by one event. Events of an order come
 * from five topics, so they arrive in any order and at least once: the first event
 * seen creates the view, a duplicate (same event id) returns the view unchanged (the
 * same object), and status only moves forward. The result depends on the set of
 * events seen, not on the order they arrived in.
 */
export function evolveOrderView(view: OrderView | undefined, event: OrderflowEvent): OrderView | undefined {
  // Restocks are keyed by product and belong to no order.
  if (event.orderId === null) return view;
  if (view && (view.orderId !== event.orderId || view.timeline.some((e) => e.eventId === event.id))) return view;
  const next = applyFact(view ?? emptyOrderView(event.orderId), event);
  return { ...next, timeline: addToTimeline(next.timeline, event), updatedAt: laterOf(next.updatedAt, event.occurredAt) };
}
