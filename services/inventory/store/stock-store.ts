import { MAX_STOCK, type StockLevel } from '@orderflow/contracts';
import type { Kysely } from 'kysely';
import type { StockChange, StockItem } from '../domain/stock.ts';
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
 * Applies changes of stock (stockChanges: one per product, in product-id order, the one
 * order every transaction locks stock rows in) and returns the levels after them, as the
 * updated rows say: the row stays locked until the commit, so that is the level the
 * commit leaves, whatever other transactions did before. Levels computed from an earlier
 * read would miss changes committed between the read and the update.
 *
 * The guard is in the statement itself, so that even without row locks (several
 * replicas on PostgreSQL) stock never goes below zero nor above MAX_STOCK: a guard that
 * fails throws, the transaction rolls back, and the consumer retries on fresh data (an
 * addition past MAX_STOCK throws StockLimitError instead: retrying cannot help it).
 */
export async function adjustStock(db: Db, changes: readonly StockChange[], now: string): Promise<StockLevel[]> {
  const levels: StockLevel[] = [];
  for (const { productId, delta } of changes) {
    const row = await db
      .updateTable('products')
      .set((eb) => ({ available: eb('available', '+', delta), updated_at: now }))
      .where('product_id', '=', productId)
      .where('available', '>=', Math.max(0, -delta))
      .where('available', '<=', MAX_STOCK - Math.max(0, delta))
      .returning('available')
      .executeTakeFirst();
    if (!row) {
      const current = delta > 0 ? (await loadStock(db, [productId])).get(productId) : undefined;
      if (current && current.available + delta > MAX_STOCK) throw new StockLimitError(productId, current.available, delta);
      throw new Error(`stock of ${productId} changed underneath; retrying`);
    }
    levels.push({ productId, available: Number(row.available) });
  }
  return levels;
}

export async function loadReservation(db: Db, orderId: string) {
  const row = await db.selectFrom('reservations').selectAll().where('order_id', '=', orderId).executeTakeFirst();
  if (!row) return undefined;
  const lines = await db.selectFrom('reservation_lines').select(['product_id', 'quantity']).where('order_id', '=', orderId).execute();
  return { status: row.status, lines: lines.map((l) => ({ productId: l.product_id, quantity: Number(l.quantity) })) };
}
