import type { CatalogProduct, OrderflowMessage } from '@orderflow/contracts';
import type { EventFactory } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import type { InventoryDatabase } from '../store/schema.ts';
import { adjustStock, loadStock } from '../store/stock-store.ts';

/** Adds stock and announces the new level (InventoryRestocked), in one transaction. */
export async function restockProduct(
  trx: Kysely<InventoryDatabase>,
  deps: { events: EventFactory; now: () => string },
  productId: string,
  quantity: number,
): Promise<OrderflowMessage | undefined> {
  const product = await trx.selectFrom('products').selectAll().where('product_id', '=', productId).executeTakeFirst();
  if (!product) return undefined;
  await adjustStock(trx, [{ productId, quantity }], 1, deps.now());
  const available = (await loadStock(trx, [productId])).get(productId)!.available;
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
 */
export async function seedCatalog(
  trx: Kysely<InventoryDatabase>,
  deps: { events: EventFactory; now: () => string },
  products: readonly CatalogProduct[],
  currency: string,
): Promise<OrderflowMessage[]> {
  const existing = new Set((await trx.selectFrom('products').select('product_id').execute()).map((r) => r.product_id));
  const added = products.filter((p) => !existing.has(p.productId));
  if (added.length === 0) return [];
  await trx
    .insertInto('products')
    .values(added.map((p) => ({ product_id: p.productId, name: p.name, unit_price: p.unitPrice, currency, available: p.initialStock, updated_at: deps.now() })))
    .execute();
  return added.map((p) =>
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
