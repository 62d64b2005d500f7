import { MAX_STOCK, type StockLevel, type StockLine } from '@orderflow/contracts';
import type { Kysely } from 'kysely';
import type { StockItem } from '../domain/stock.ts';
import type { InventoryDatabase } from './schema.ts';

type Db = Kysely<InventoryDatabase>;

export async function loadStock(db: Db, productIds: readonly string[]): Promise<Map<string, StockItem>> {
  if (productIds.length === 0) return new Map();
  const rows = await db.selectFrom('products').select(['product_id', 'available']).where('product_id', 'in', [...new Set(productIds)]).execute();
  return new Map(rows.map((r) => [r.product_id, { productId: r.product_id, available: Number(r.available) }]));
}

/** Stock that would go above MAX_STOCK, which the PostgreSQL column cannot hold. */
export class StockLimitError extends Error {
  constructor(
    readonly productId: string,
    readonly available: number,
    readonly quantity: number,
  ) {
    super(`stock of ${productId} would be ${available + quantity}, above the most a product can hold (${MAX_STOCK})`);
  }
}

/**
 * Applies a change of stock with a guard in the statement itself, so that even without
 * row locks (several replicas on PostgreSQL) stock never goes below zero nor above
 * MAX_STOCK: a guard that fails throws, the transaction rolls back, and the consumer
 * retries on fresh data (an addition past MAX_STOCK throws StockLimitError instead).
 */
export async function adjustStock(db: Db, lines: readonly StockLine[], sign: 1 | -1, now: string): Promise<void> {
  for (const line of lines) {
    const delta = sign * line.quantity;
    const result = await db
      .updateTable('products')
      .set((eb) => ({ available: eb('available', '+', delta), updated_at: now }))
      .where('product_id', '=', line.productId)
      .where('available', '>=', sign === -1 ? line.quantity : 0)
      .where('available', '<=', sign === 1 ? MAX_STOCK - line.quantity : MAX_STOCK)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) continue;
    const current = sign === 1 ? (await loadStock(db, [line.productId])).get(line.productId) : undefined;
    if (current && current.available + line.quantity > MAX_STOCK) throw new StockLimitError(line.productId, current.available, line.quantity);
    throw new Error(`stock of ${line.productId} changed underneath; retrying`);
  }
}

export async function levelsOf(db: Db, productIds: readonly string[]): Promise<StockLevel[]> {
  const stock = await loadStock(db, productIds);
  return [...stock.values()].map((s) => ({ productId: s.productId, available: s.available }));
}

export async function loadReservation(db: Db, orderId: string) {
  const row = await db.selectFrom('reservations').selectAll().where('order_id', '=', orderId).executeTakeFirst();
  if (!row) return undefined;
  const lines = await db.selectFrom('reservation_lines').select(['product_id', 'quantity']).where('order_id', '=', orderId).execute();
  return { status: row.status, lines: lines.map((l) => ({ productId: l.product_id, quantity: Number(l.quantity) })) };
}
