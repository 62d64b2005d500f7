import { describe, expect, it } from 'vitest';
import { eventOf } from '../domain/events.fixture.ts';
import { createReadModel } from './read-model.ts';

describe('the read model', () => {
  it('counts a redelivered inventory event (same id) once', () => {
    const readModel = createReadModel({ onListenerError: () => undefined });
    const confirmed = eventOf('InventoryConfirmed', { data: { items: [{ productId: 'product-1', quantity: 2, unitPrice: 2999 }] } });
    for (const event of [eventOf('InventoryRestocked', { data: { quantity: 100, available: 100 } }), confirmed, confirmed]) readModel.apply(event);
    expect(readModel.inventory()).toEqual([{ productId: 'product-1', name: 'Premium Widget', unitPrice: 2999, currency: 'USD', available: 98 }]);
  });
});
