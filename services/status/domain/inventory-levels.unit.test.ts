import type { OrderflowEvent } from '@orderflow/contracts';
import { describe, expect, it } from 'vitest';
import { at, eventOf } from './events.fixture.ts';
import { type StockLevels, evolveInventory, inventoryList } from './inventory-levels.ts';

const project = (events: readonly OrderflowEvent[]): StockLevels => events.reduce(evolveInventory, new Map() as StockLevels);

const restock = (second: number, productId: string, available: number) =>
  eventOf('InventoryRestocked', { second, data: { productId, name: `name of ${productId}`, unitPrice: 4999, available, quantity: available } });
const confirmed = (second: number, levels: { productId: string; available: number }[]) =>
  eventOf('InventoryConfirmed', { second, orderId: `order-${second}`, data: { levels } });
const released = (second: number, levels: { productId: string; available: number }[]) =>
  eventOf('InventoryReleased', { second, orderId: `order-${second}`, data: { levels } });

describe('evolveInventory', () => {
  it('InventoryRestocked names a product and sets its level', () => {
    expect(inventoryList(project([restock(0, 'product-2', 50)]))).toEqual([
      { productId: 'product-2', name: 'name of product-2', unitPrice: 4999, currency: 'USD', available: 50 },
    ]);
  });

  it('InventoryConfirmed and InventoryReleased set the levels they carry', () => {
    const levels = project([restock(0, 'product-1', 100), restock(0, 'product-2', 50), confirmed(1, [{ productId: 'product-1', available: 97 }])]);
    expect(inventoryList(levels).map((l) => [l.productId, l.available])).toEqual([['product-1', 97], ['product-2', 50]]);
    const afterRelease = evolveInventory(levels, released(2, [{ productId: 'product-1', available: 100 }]));
    expect(afterRelease.get('product-1')?.level.available).toBe(100);
  });

  it('a level read late with an older event time does not overwrite a newer one', () => {
    const levels = project([restock(0, 'product-1', 100), confirmed(5, [{ productId: 'product-1', available: 90 }]), confirmed(3, [{ productId: 'product-1', available: 95 }])]);
    expect(levels.get('product-1')).toEqual({ level: expect.objectContaining({ available: 90 }), asOf: at(5) });
  });

  it('a reservation read before the restock that named the product: placeholder first, then the name, newest level kept', () => {
    const early = project([confirmed(5, [{ productId: 'product-9', available: 7 }])]);
    expect(inventoryList(early)).toEqual([{ productId: 'product-9', name: 'product-9', unitPrice: 0, currency: '', available: 7 }]);
    const named = evolveInventory(early, restock(0, 'product-9', 10));
    expect(inventoryList(named)).toEqual([{ productId: 'product-9', name: 'name of product-9', unitPrice: 4999, currency: 'USD', available: 7 }]);
    expect(named.get('product-9')?.asOf).toBe(at(5));
  });

  it('a newer restock sets the level', () => {
    const levels = project([restock(0, 'product-1', 100), confirmed(1, [{ productId: 'product-1', available: 0 }]), restock(2, 'product-1', 25)]);
    expect(levels.get('product-1')?.level.available).toBe(25);
  });

  it('a redelivered level changes nothing', () => {
    const event = confirmed(1, [{ productId: 'product-1', available: 97 }]);
    expect(project([restock(0, 'product-1', 100), event, event]).get('product-1')?.level.available).toBe(97);
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
