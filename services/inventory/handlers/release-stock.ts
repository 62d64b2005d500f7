import type { MessageOf, OrderflowMessage } from '@orderflow/contracts';
import type { EventFactory } from '@orderflow/platform';
import type { Transaction } from 'kysely';
import { type ReservationState, decideRelease, stockChanges } from '../domain/stock.ts';
import type { InventoryDatabase } from '../store/schema.ts';
import { adjustStock, loadReservation } from '../store/stock-store.ts';

type Compensation = MessageOf<'PaymentFailed' | 'ShipmentFailed' | 'OrderCancelled' | 'ReleaseInventory'>;

function reasonOf(event: Compensation): string {
  switch (event.type) {
    case 'OrderCancelled':
      return `ORDER_${event.data.status}`;
    case 'ReleaseInventory':
      return event.data.reason;
    case 'PaymentFailed':
      return 'PAYMENT_FAILED';
    case 'ShipmentFailed':
      return 'SHIPMENT_FAILED';
  }
}

/**
 * The order failed after stock was reserved: give it back. Several events can say so
 * (PaymentFailed and then OrderCancelled for the same order); only the first releases.
 */
export const releaseStock =
  (deps: { events: EventFactory; now: () => string }) =>
  async (event: Compensation, trx: Transaction<InventoryDatabase>): Promise<OrderflowMessage[]> => {
    const orderId = event.orderId!;
    const reservation = await loadReservation(trx, orderId);
    if (!reservation || decideRelease(reservation.status as ReservationState) === 'nothing') return [];
    const now = deps.now();
    // Compare and set: PaymentFailed and OrderCancelled come on different topics and can be
    // handled at the same time; on PostgreSQL both read the reservation as live. Only the
    // one whose update still finds it RESERVED gives the stock back.
    const claimed = await trx
      .updateTable('reservations')
      .set({ status: 'RELEASED', updated_at: now })
      .where('order_id', '=', orderId)
      .where('status', '=', 'RESERVED')
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return [];
    const levels = await adjustStock(trx, stockChanges(reservation.lines, 1), now);
    return [deps.events.create('InventoryReleased', orderId, { reason: reasonOf(event), items: reservation.lines, levels }, event)];
  };
