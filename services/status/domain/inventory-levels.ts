import type { InventoryLevelView, OrderflowEvent } from '@orderflow/contracts';

/** Each product's level, as the inventory events read so far add up to. */
export type StockLevels = ReadonlyMap<string, InventoryLevelView>;

type ProductInfo = Pick<InventoryLevelView, 'name' | 'unitPrice' | 'currency'>;

function withChange(levels: StockLevels, productId: string, delta: number, info?: ProductInfo): StockLevels {
  const current = levels.get(productId);
  const known = info ?? current ?? { name: productId, unitPrice: 0, currency: '' };
  const level: InventoryLevelView = {
    productId,
    name: known.name,
    unitPrice: known.unitPrice,
    currency: known.currency,
    available: (current?.available ?? 0) + delta,
  };
  return new Map(levels).set(productId, level);
}

/**
 * Stock levels from the inventory topic, as the sum of every change it reports:
 * InventoryRestocked adds its quantity (and names the product: the inventory service
 * announces its catalog that way, the initial stock being the first restock),
 * InventoryConfirmed takes its lines, InventoryReleased gives its lines back.
 *
 * Why changes and not the absolute levels the events also carry: events of different
 * orders sit in different partitions and are read in any order, and nothing in them
 * orders two changes of one product (event times tie within a millisecond and differ
 * between replicas' clocks), so "the latest level wins" could keep a stale one for good,
 * even after a rebuild. A sum does not depend on the order it is read in. The cost: it
 * needs every event once, so the caller drops redeliveries (same event id), and it needs
 * the whole log, which the read model replays on every start anyway. Until the restock
 * that named a product is read, its level can be below zero.
 */
export function evolveInventory(levels: StockLevels, event: OrderflowEvent): StockLevels {
  switch (event.type) {
    case 'InventoryRestocked': {
      const { productId, name, unitPrice, currency, quantity } = event.data;
      return withChange(levels, productId, quantity, { name, unitPrice, currency });
    }
    case 'InventoryConfirmed':
      return event.data.items.reduce((acc, line) => withChange(acc, line.productId, -line.quantity), levels);
    case 'InventoryReleased':
      return event.data.items.reduce((acc, line) => withChange(acc, line.productId, line.quantity), levels);
    default:
      return levels;
  }
}

/** The events evolveInventory counts, each of which must be counted once. */
export const changesStock = (event: OrderflowEvent): boolean =>
  event.type === 'InventoryRestocked' || event.type === 'InventoryConfirmed' || event.type === 'InventoryReleased';

export const inventoryList = (levels: StockLevels): InventoryLevelView[] => [...levels.values()].sort((a, b) => a.productId.localeCompare(b.productId));
