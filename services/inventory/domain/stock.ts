import type { EventDataOf, OrderLine, StockLevel, StockLine } from '@orderflow/contracts';

export interface StockItem {
  productId: string;
  available: number;
}

export type ReservationDecision =
  | { ok: true; lines: StockLine[]; levels: StockLevel[] }
  | { ok: false; rejection: EventDataOf<'InventoryRejected'> };

/**
 * All or nothing: every line must be covered by available stock, or nothing is
 * reserved. The first line that cannot be covered names the reason.
 */
export function decideReservation(items: readonly OrderLine[], stock: ReadonlyMap<string, StockItem>): ReservationDecision {
  const levels = new Map<string, number>();
  for (const item of items) {
    const product = stock.get(item.productId);
    if (!product) {
      return { ok: false, rejection: { reason: 'UNKNOWN_PRODUCT', productId: item.productId, requested: item.quantity, available: 0 } };
    }
    const available = levels.get(item.productId) ?? product.available;
    if (available < item.quantity) {
      return { ok: false, rejection: { reason: 'OUT_OF_STOCK', productId: item.productId, requested: item.quantity, available } };
    }
    levels.set(item.productId, available - item.quantity);
  }
  return {
    ok: true,
    lines: items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    levels: [...levels].map(([productId, available]) => ({ productId, available })),
  };
}

export type ReservationState = 'RESERVED' | 'REJECTED' | 'RELEASED';

/** Stock goes back only from a live reservation, so a second compensation trigger does nothing. */
export function decideRelease(state: ReservationState | undefined): 'release' | 'nothing' {
  return state === 'RESERVED' ? 'release' : 'nothing';
}

export function levelsAfterRelease(lines: readonly StockLine[], stock: ReadonlyMap<string, StockItem>): StockLevel[] {
  const levels = new Map<string, number>();
  for (const line of lines) {
    const current = levels.get(line.productId) ?? stock.get(line.productId)?.available ?? 0;
    levels.set(line.productId, current + line.quantity);
  }
  return [...levels].map(([productId, available]) => ({ productId, available }));
}

/** Document 002's failure injection: an item with this product id makes the handler throw. */
export const FAILURE_INJECTION_SKU = 'FAIL';

export const triggersInjectedFailure = (items: readonly OrderLine[], enabled: boolean): boolean =>
  enabled && items.some((i) => i.productId === FAILURE_INJECTION_SKU);
