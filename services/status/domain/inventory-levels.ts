import type { InventoryLevelView, OrderflowEvent } from '@orderflow/contracts';

/** A product's level and the event time of the event it was last set from. */
export interface StockEntry {
  level: InventoryLevelView;
  asOf: string;
}
export type StockLevels = ReadonlyMap<string, StockEntry>;

type ProductInfo = Pick<InventoryLevelView, 'name' | 'unitPrice' | 'currency'>;

function withLevel(levels: StockLevels, productId: string, asOf: string, available: number, info?: ProductInfo): StockLevels {
  const current = levels.get(productId);
  // Events of different orders sit in different partitions and are read in any
  // order: the level with the latest event time wins (a tie goes to the later read).
  const newer = !current || Date.parse(asOf) >= Date.parse(current.asOf);
  if (!newer && !info) return levels;
  const known = info ?? current?.level ?? { name: productId, unitPrice: 0, currency: '' };
  const level: InventoryLevelView = {
    productId,
    name: known.name,
    unitPrice: known.unitPrice,
    currency: known.currency,
    available: newer ? available : (current?.level.available ?? available),
  };
  return new Map(levels).set(productId, { level, asOf: newer || !current ? asOf : current.asOf });
}

/**
 * Stock levels from the inventory topic: InventoryRestocked names a product (the
 * inventory service announces its catalog that way) and sets its level; reservations
 * and releases carry the new absolute levels of the products they touched.
 */
export function evolveInventory(levels: StockLevels, event: OrderflowEvent): StockLevels {
  switch (event.type) {
    case 'InventoryRestocked': {
      const { productId, name, unitPrice, currency, available } = event.data;
      return withLevel(levels, productId, event.occurredAt, available, { name, unitPrice, currency });
    }
    case 'InventoryConfirmed':
    case 'InventoryReleased':
      return event.data.levels.reduce((acc, l) => withLevel(acc, l.productId, event.occurredAt, l.available), levels);
    default:
      return levels;
  }
}

export const inventoryList = (levels: StockLevels): InventoryLevelView[] =>
  [...levels.values()].map((e) => e.level).sort((a, b) => a.productId.localeCompare(b.productId));
