import type { MessageOf, OrderflowMessage } from '@orderflow/contracts';
import type { EventFactory } from '@orderflow/platform';
import type { Transaction } from 'kysely';
import { decideReservation, stockChanges, triggersInjectedFailure } from '../domain/stock.ts';
import type { InventoryDatabase } from '../store/schema.ts';
import { adjustStock, loadReservation, loadStock } from '../store/stock-store.ts';

export interface ReserveStockDeps {
  events: EventFactory;
  now: () => string;
  failOnInjectedSku: () => boolean;
}

/** OrderCreated (choreography) or ReserveInventory (orchestration) → reserve every line or none → InventoryConfirmed | InventoryRejected. */
export const reserveStock =
  (deps: ReserveStockDeps) =>
  async (event: MessageOf<'OrderCreated' | 'ReserveInventory'>, trx: Transaction<InventoryDatabase>): Promise<OrderflowMessage[]> => {
    const orderId = event.orderId!;
    if (triggersInjectedFailure(event.data.items, deps.failOnInjectedSku())) {
      throw new Error('injected failure: an item has product id FAIL (turn it off with PUT /admin/failure-injection)');
    }
    if (await loadReservation(trx, orderId)) return [];
    const stock = await loadStock(trx, event.data.items.map((i) => i.productId));
    const decision = decideReservation(event.data.items, stock);
    const now = deps.now();
    await trx.insertInto('reservations').values({ order_id: orderId, status: decision.ok ? 'RESERVED' : 'REJECTED', created_at: now, updated_at: now }).execute();
    if (!decision.ok) return [deps.events.create('InventoryRejected', orderId, decision.rejection, event)];
    const levels = await adjustStock(trx, stockChanges(decision.lines, -1), now);
    await trx.insertInto('reservation_lines').values(decision.lines.map((l) => ({ order_id: orderId, product_id: l.productId, quantity: l.quantity }))).execute();
    const { customerId, items, total, currency } = event.data;
    return [deps.events.create('InventoryConfirmed', orderId, { customerId, items, total, currency, levels }, event)];
  };
