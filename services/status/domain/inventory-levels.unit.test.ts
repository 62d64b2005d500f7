import type { OrderflowEvent } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import { eventOf } from './events.fixture.ts';
import { type StockLevels, changesStock, evolveInventory, inventoryList } from './inventory-levels.ts';

const project = (events: readonly OrderflowEvent[]): StockLevels => events.reduce(evolveInventory, new Map() as StockLevels);
const availableOf = (levels: StockLevels) => inventoryList(levels).map((l) => [l.productId, l.available]);

const restock = (second: number, productId: string, quantity: number, available = quantity) =>
  eventOf('InventoryRestocked', { second, data: { productId, name: `name of ${productId}`, unitPrice: 4999, available, quantity } });
const line = (productId: string, quantity: number) => ({ productId, quantity, unitPrice: 4999 });
/** Confirmed and Released carry the levels after them too; the projection counts only their lines. */
const confirmed = (second: number, lines: { productId: string; quantity: number }[]) =>
  eventOf('InventoryConfirmed', { second, orderId: `order-${second}`, data: { items: lines.map((l) => line(l.productId, l.quantity)), levels: [] } });
const released = (second: number, lines: { productId: string; quantity: number }[]) =>
  eventOf('InventoryReleased', { second, orderId: `order-${second}`, data: { items: lines, levels: [] } });

describe('evolveInventory', () => {
  it('InventoryRestocked names a product and adds its quantity', () => {
    expect(inventoryList(project([restock(0, 'product-2', 50)]))).toEqual([
      { productId: 'product-2', name: 'name of product-2', unitPrice: 4999, currency: 'USD', available: 50 },
    ]);
    expect(availableOf(project([restock(0, 'product-2', 50), restock(1, 'product-2', 25, 75)]))).toEqual([['product-2', 75]]);
  });

  it('InventoryConfirmed takes its lines and InventoryReleased gives them back', () => {
    const levels = project([restock(0, 'product-1', 100), restock(0, 'product-2', 50), confirmed(1, [{ productId: 'product-1', quantity: 3 }, { productId: 'product-2', quantity: 1 }])]);
    expect(availableOf(levels)).toEqual([['product-1', 97], ['product-2', 49]]);
    expect(availableOf(evolveInventory(levels, released(2, [{ productId: 'product-1', quantity: 3 }])))).toEqual([['product-1', 100], ['product-2', 49]]);
  });

  it('concurrent releases read in any order, with any event times, end at the inventory level (the issue: three said 30, inventory had 32)', () => {
    const history = [
      restock(0, 'product-2', 30),
      confirmed(1, [{ productId: 'product-2', quantity: 1 }]),
      confirmed(2, [{ productId: 'product-2', quantity: 1 }]),
      released(3, [{ productId: 'product-2', quantity: 1 }]),
      released(3, [{ productId: 'product-2', quantity: 1 }]),
      restock(4, 'product-2', 2, 32),
    ];
    for (const order of [history, [...history].reverse(), [history[5], history[3], history[0], history[4], history[2], history[1]]]) {
      expect(availableOf(project(order.filter((e) => e !== undefined)))).toEqual([['product-2', 32]]);
    }
  });

  it('a reservation read before the restock that named the product: a placeholder first, then the name, and the sum', () => {
    const early = project([confirmed(5, [{ productId: 'product-9', quantity: 3 }])]);
    expect(inventoryList(early)).toEqual([{ productId: 'product-9', name: 'product-9', unitPrice: 0, currency: '', available: -3 }]);
    expect(inventoryList(evolveInventory(early, restock(0, 'product-9', 10)))).toEqual([
      { productId: 'product-9', name: 'name of product-9', unitPrice: 4999, currency: 'USD', available: 7 },
    ]);
  });

  it('counts the events that change stock, which the caller applies once each', () => {
    expect([restock(0, 'p', 1), confirmed(1, []), released(1, [])].every(changesStock)).toBe(true);
    for (const type of ['OrderCreated', 'InventoryRejected', 'PaymentCompleted', 'Shipped', 'NotificationSent'] as const) {
      expect(changesStock(eventOf(type))).toBe(false);
    }
  });

  it('other events return the same levels object', () => {
    const levels = project([restock(0, 'product-1', 100)]);
    for (const type of ['OrderCreated', 'InventoryRejected', 'PaymentCompleted', 'Shipped', 'NotificationSent'] as const) {
      expect(evolveInventory(levels, eventOf(type))).toBe(levels);
    }
  });

  it('lists products sorted by id', () => {
    const levels = project([restock(0, 'product-3', 25), restock(0, 'product-1', 100), restock(0, 'ABC-001', 10)]);
    expect(inventoryList(levels).map((l) => l.productId)).toEqual(['ABC-001', 'product-1', 'product-3']);
  });
});
