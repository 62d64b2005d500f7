import type { EventDataOf, OrderLine, StockLine } from '@orderflow/contracts';

export interface StockItem {
  productId: string;
  available: number;
}

export type ReservationDecision = { ok: true; lines: StockLine[] } | { ok: false; rejection: EventDataOf<'InventoryRejected'> };

/**
 * All or nothing: every line must be covered by available stock, or nothing is
 * reserved. The first line that cannot be covered names the reason. The levels after
 * the reservation are not decided here: the store reports them from the rows it
 * changed, which is what they are after every concurrent change (see adjustStock).
 */
export function decideReservation(items: readonly OrderLine[], stock: ReadonlyMap<string, StockItem>): ReservationDecision {
  const left = new Map<string, number>();
  for (const item of items) {
    const product = stock.get(item.productId);
    if (!product) {
      return { ok: false, rejection: { reason: 'UNKNOWN_PRODUCT', productId: item.productId, requested: item.quantity, available: 0 } };
    }
    const available = left.get(item.productId) ?? product.available;
    if (available < item.quantity) {
      return { ok: false, rejection: { reason: 'OUT_OF_STOCK', productId: item.productId, requested: item.quantity, available } };
    }
    left.set(item.productId, available - item.quantity);
  }
  return { ok: true, lines: items.map((i) => ({ productId: i.productId, quantity: i.quantity })) };
}

/** How one product's stock changes: negative takes, positive gives back. */
export interface StockChange {
  productId: string;
  delta: number;
}

/**
 * The changes that lines make, one per product and in product-id order. Every
 * transaction that changes stock locks its rows in this one order, so two of them can
 * wait for each other but never in a cycle: locking in the request's line order made
 * an order for (A, B) and one for (B, A) deadlock on PostgreSQL.
 */
export function stockChanges(lines: readonly StockLine[], sign: 1 | -1): StockChange[] {
  const deltas = new Map<string, number>();
  for (const line of lines) deltas.set(line.productId, (deltas.get(line.productId) ?? 0) + sign * line.quantity);
  return [...deltas]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([productId, delta]) => ({ productId, delta }));
}

export type ReservationState = 'RESERVED' | 'REJECTED' | 'RELEASED';

/** Stock goes back only from a live reservation, so a second compensation trigger does nothing. */
export function decideRelease(state: ReservationState | undefined): 'release' | 'nothing' {
  return state === 'RESERVED' ? 'release' : 'nothing';
}

/** Document 002's failure injection: an item with this product id makes the handler throw. */
export const FAILURE_INJECTION_SKU = 'FAIL';

export const triggersInjectedFailure = (items: readonly OrderLine[], enabled: boolean): boolean =>
  enabled && items.some((i) => i.productId === FAILURE_INJECTION_SKU);
