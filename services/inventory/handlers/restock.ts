import type { CatalogProduct, OrderflowMessage } from '@orderflow/contracts';
import type { EventFactory } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import type { InventoryDatabase } from '../store/schema.ts';
import { stockChanges } from '../domain/stock.ts';
import { adjustStock } from '../store/stock-store.ts';

/** Adds stock and announces the new level (InventoryRestocked), in one transaction. */
export async function restockProduct(
  trx: Kysely<InventoryDatabase>,
  deps: { events: EventFactory; now: () => string },
  productId: string,
  quantity: number,
): Promise<OrderflowMessage | undefined> {
  const product = await trx.selectFrom('products').selectAll().where('product_id', '=', productId).executeTakeFirst();
  if (!product) return undefined;
  const [level] = await adjustStock(trx, stockChanges([{ productId, quantity }], 1), deps.now());
  if (!level) throw new Error(`no stock row changed for ${productId}`);
  const { available } = level;
  return deps.events.create('InventoryRestocked', null, {
    productId,
    name: product.name,
    unitPrice: Number(product.unit_price),
    currency: product.currency,
    quantity,
    available,
  });
}

/**
 * Adds catalog products the inventory does not hold yet, with their initial stock,
 * announcing each as InventoryRestocked so the read side learns the catalog from the log.
 * Replicas starting together on one database may race: each insert ignores a conflict,
 * and only the replica whose insert landed announces the product.
 */
export async function seedCatalog(
  trx: Kysely<InventoryDatabase>,
  deps: { events: EventFactory; now: () => string },
  products: readonly CatalogProduct[],
  currency: string,
): Promise<OrderflowMessage[]> {
  const announced: OrderflowMessage[] = [];
  for (const p of products) {
    const inserted = await trx
      .insertInto('products')
      .values({ product_id: p.productId, name: p.name, unit_price: p.unitPrice, currency, available: p.initialStock, updated_at: deps.now() })
      .onConflict((oc) => oc.column('product_id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) continue;
    announced.push(
      deps.events.create('InventoryRestocked', null, {
        productId: p.productId,
        name: p.name,
        unitPrice: p.unitPrice,
        currency,
        quantity: p.initialStock,
        available: p.initialStock,
      }),
    );
  }
  return announced;
}
