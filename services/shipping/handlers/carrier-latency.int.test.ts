import { type Bus, type BusRecord, createEmbeddedBus, createEventFactory, toBusMessage } from '@orderflow/platform';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withCarrierLatency } from './carrier-latency.ts';

const DELAY_MS = 300;
const payments = createEventFactory('payment');
const orders = createEventFactory('order');

describe('withCarrierLatency', () => {
  let bus: Bus;
  beforeEach(() => {
    bus = createEmbeddedBus({ file: ':memory:' });
  });
  afterEach(() => bus.close());

  it('delivers a shipment-making message after the carrier call and before the handler runs; other messages at once', async () => {
    const handledAfterMs = new Map<string, number>();
    const started = Date.now();
    const subscription = await withCarrierLatency(bus, DELAY_MS).subscribe({
      group: 'shipping-test',
      topics: ['payment', 'orders'],
      handle: async (record: BusRecord) => void handledAfterMs.set(record.key, Date.now() - started),
    });
    await bus.publish([
      toBusMessage(payments.create('PaymentCompleted', 'paid', { paymentId: 'pay-1', customerId: 'c', amount: 1, currency: 'USD' }), undefined),
      toBusMessage(orders.create('OrderCancelled', 'cancelled', { status: 'CANCELLED', reason: 'customer request' }), undefined),
    ]);
    await subscription.caughtUp();
    await subscription.close();

    expect(handledAfterMs.get('paid')).toBeGreaterThanOrEqual(DELAY_MS);
    expect(handledAfterMs.get('cancelled')).toBeLessThan(DELAY_MS);
  });

  it('is the bus itself when there is no delay', () => {
    expect(withCarrierLatency(bus, 0)).toBe(bus);
  });
});
