import type { EventOf, OrderflowEvent } from '@orderflow/contracts';
import type { EventFactory } from '@orderflow/platform';
import type { Transaction } from 'kysely';
import { type ReservationState, decideRelease, levelsAfterRelease } from '../domain/stock.ts';
import type { InventoryDatabase } from '../store/schema.ts';
import { adjustStock, loadReservation, loadStock } from '../store/stock-store.ts';

type Compensation = EventOf<'PaymentFailed' | 'ShipmentFailed' | 'OrderCancelled'>;

const reasonOf = (event: Compensation): string =>
  event.type === 'OrderCancelled' ? `ORDER_${event.data.status}` : event.type === 'PaymentFailed' ? 'PAYMENT_FAILED' : 'SHIPMENT_FAILED';

/**
 * The order failed after stock was reserved: give it back. Several events can say so
 * (PaymentFailed and then OrderCancelled for the same order); only the first releases.
 */
export const releaseStock =
  (deps: { events: EventFactory; now: () => string }) =>
  async (event: Compensation, trx: Transaction<InventoryDatabase>): Promise<OrderflowEvent[]> => {
    const orderId = event.orderId!;
    const reservation = await loadReservation(trx, orderId);
    if (!reservation || decideRelease(reservation.status as ReservationState) === 'nothing') return [];
    const now = deps.now();
    const levels = levelsAfterRelease(reservation.lines, await loadStock(trx, reservation.lines.map((l) => l.productId)));
    await adjustStock(trx, reservation.lines, 1, now);
    await trx.updateTable('reservations').set({ status: 'RELEASED', updated_at: now }).where('order_id', '=', orderId).execute();
    return [deps.events.create('InventoryReleased', orderId, { reason: reasonOf(event), items: reservation.lines, levels }, event)];
  };
