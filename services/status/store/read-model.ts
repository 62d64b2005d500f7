import type { InventoryLevelView, OrderView, OrderflowEvent } from '@orderflow/contracts';
import { type StockLevels, changesStock, evolveInventory, inventoryList } from '../domain/inventory-levels.ts';
import { evolveOrderView } from '../domain/order-projection.ts';

export type OrderListener = (order: OrderView) => void;

export interface OrderChange {
  before: OrderView | undefined;
  after: OrderView;
}

/**
 * The status read model, held in memory: every order's view and the stock levels. It
 * is rebuilt from the log on each start, so there is nothing to persist or migrate.
 */
export interface ReadModel {
  /** Applies one event; returns the order's change, or undefined when no order view changed. */
  apply(event: OrderflowEvent): OrderChange | undefined;
  order(orderId: string): OrderView | undefined;
  /** Newest first: by creation time, or last event time while OrderCreated is not seen yet. */
  orders(): OrderView[];
  inventory(): InventoryLevelView[];
  /** Called after every change of an order view; returns the unsubscribe function. */
  onOrderChange(listener: OrderListener): () => void;
}

const sortKey = (view: OrderView) => Date.parse(view.createdAt ?? view.updatedAt ?? '') || 0;
export const newestFirst = (a: OrderView, b: OrderView): number => sortKey(b) - sortKey(a) || a.orderId.localeCompare(b.orderId);

export function createReadModel(options: { onListenerError(error: unknown): void }): ReadModel {
  const views = new Map<string, OrderView>();
  let levels: StockLevels = new Map();
  // Levels are a sum of changes, so a redelivered inventory event must not count twice.
  const stockEventsCounted = new Set<string>();
  const listeners = new Set<OrderListener>();

  return {
    apply(event) {
      if (changesStock(event) && !stockEventsCounted.has(event.id)) {
        stockEventsCounted.add(event.id);
        levels = evolveInventory(levels, event);
      }
      if (event.orderId === null) return undefined;
      const before = views.get(event.orderId);
      const after = evolveOrderView(before, event);
      if (!after || after === before) return undefined;
      views.set(after.orderId, after);
      for (const listener of listeners) {
        // A failing listener (one client's socket) must not fail projecting the log.
        try {
          listener(after);
        } catch (error) {
          options.onListenerError(error);
        }
      }
      return { before, after };
    },
    order: (orderId) => views.get(orderId),
    orders: () => [...views.values()].sort(newestFirst),
    inventory: () => inventoryList(levels),
    onOrderChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
