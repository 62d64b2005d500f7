import type { MessageOf, OrderflowMessage } from '@orderflow/contracts';
import type { EventFactory, EventHandlers, SagaMode } from '@orderflow/platform';
import { type OrderEventDraft, type OrderProgressEvent, decideProgress } from '../domain/order.ts';
import { loadOrder, updateOrder } from '../store/order-store.ts';
import type { OrderDatabase, OrderTables } from '../store/schema.ts';
import type { Transaction } from 'kysely';

type ProgressEvent = MessageOf<
  'InventoryConfirmed' | 'InventoryRejected' | 'PaymentCompleted' | 'PaymentFailed' | 'Shipped' | 'ShipmentFailed' | 'CompleteOrder' | 'CancelOrder'
>;

export const toOrderEvent = (events: EventFactory, orderId: string, draft: OrderEventDraft, cause?: { id: string; correlationId: string }): OrderflowMessage =>
  draft.type === 'OrderCancelled'
    ? events.create('OrderCancelled', orderId, draft.data, cause)
    : events.create('OrderCompleted', orderId, draft.data, cause);

/** The lock keys of the orders these messages are about (ConsumeOptions.lockKeys): the order row each handler reads and updates. */
export const orderKeys = (messages: readonly OrderflowMessage[]): string[] => messages.flatMap((m) => (m.orderId === null ? [] : [`orders:${m.orderId}`]));

/**
 * The order service follows its participants' facts to keep each order's status, and
 * announces how the order ended (OrderCompleted / OrderCancelled). In choreography it
 * decides the end itself from the facts; in orchestration the orchestrator decides and
 * sends CompleteOrder / CancelOrder, and the facts only move the status forward.
 */
export function trackOrderProgress(events: EventFactory, now: () => string, mode: SagaMode): EventHandlers<OrderTables> {
  const handle = async (event: ProgressEvent, trx: Transaction<OrderDatabase>) => {
    const orderId = event.orderId;
    const order = orderId ? await loadOrder(trx, orderId) : undefined;
    // Never happens unless the order database was reset while the log was kept: fail
    // loudly so the record is retried, then dead-lettered for an operator.
    if (!order || !orderId) throw new Error(`order ${orderId} is not known to the order service`);
    const decision = decideProgress(order, event as OrderProgressEvent);
    if (decision.order.status !== order.status || decision.events.length > 0) await updateOrder(trx, decision.order, order.status, now());
    return decision.events.map((draft) => toOrderEvent(events, orderId, draft, event));
  };
  return mode === 'choreography'
    ? { InventoryConfirmed: handle, InventoryRejected: handle, PaymentCompleted: handle, PaymentFailed: handle, Shipped: handle, ShipmentFailed: handle }
    : { InventoryConfirmed: handle, PaymentCompleted: handle, CompleteOrder: handle, CancelOrder: handle };
}
