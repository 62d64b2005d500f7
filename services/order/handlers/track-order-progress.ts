import type { EventOf, OrderflowEvent } from '@orderflow/contracts';
import type { EventFactory, EventHandlers } from '@orderflow/platform';
import { type OrderEventDraft, type OrderProgressEvent, decideProgress } from '../domain/order.ts';
import { loadOrder, updateOrder } from '../store/order-store.ts';
import type { OrderDatabase, OrderTables } from '../store/schema.ts';
import type { Transaction } from 'kysely';

type ProgressEvent = EventOf<'InventoryConfirmed' | 'InventoryRejected' | 'PaymentCompleted' | 'PaymentFailed' | 'Shipped' | 'ShipmentFailed'>;

export const toOrderEvent = (events: EventFactory, orderId: string, draft: OrderEventDraft, cause?: { id: string; correlationId: string }): OrderflowEvent =>
  draft.type === 'OrderCancelled'
    ? events.create('OrderCancelled', orderId, draft.data, cause)
    : events.create('OrderCompleted', orderId, draft.data, cause);

/**
 * The order service follows its participants' facts to keep each order's status, and
 * announces how the order ended (OrderCompleted / OrderCancelled).
 */
export function trackOrderProgress(events: EventFactory, now: () => string): EventHandlers<OrderTables> {
  const handle = async (event: ProgressEvent, trx: Transaction<OrderDatabase>) => {
    const orderId = event.orderId;
    const order = orderId ? await loadOrder(trx, orderId) : undefined;
    // Never happens unless the order database was reset while the log was kept: fail
    // loudly so the record is retried, then dead-lettered for an operator.
    if (!order || !orderId) throw new Error(`order ${orderId} is not known to the order service`);
    const decision = decideProgress(order, event as OrderProgressEvent);
    if (decision.order.status !== order.status || decision.events.length > 0) await updateOrder(trx, decision.order, now());
    return decision.events.map((draft) => toOrderEvent(events, orderId, draft, event));
  };
  return {
    InventoryConfirmed: handle,
    InventoryRejected: handle,
    PaymentCompleted: handle,
    PaymentFailed: handle,
    Shipped: handle,
    ShipmentFailed: handle,
  };
}
