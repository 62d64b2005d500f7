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

  it('given shipment-making messages waiting, when they come as one batch, then the batch waits for one carrier call of them all, then is handled', async () => {
    const batches: { size: number; afterMs: number }[] = [];
    const paid = [1, 2, 3].map((n) => payments.create('PaymentCompleted', 'paid', { paymentId: `pay-${n}`, customerId: 'c', amount: 1, currency: 'USD' }));
    await bus.publish(paid.map((event) => toBusMessage(event, undefined)));
    const started = Date.now();
    const subscription = await withCarrierLatency(bus, DELAY_MS).subscribe({
      group: 'shipping-test',
      topics: ['payment'],
      handle: async () => {
        throw new Error('the batch is handled as one');
      },
      handleBatch: async (records) => {
        batches.push({ size: records.length, afterMs: Date.now() - started });
        return { handled: records.length };
      },
    });
    await subscription.caughtUp();
    await subscription.close();

    expect(batches.map((b) => b.size)).toEqual([3]);
    expect(batches[0]?.afterMs).toBeGreaterThanOrEqual(DELAY_MS);
  });

  it('is the bus itself when there is no delay', () => {
    expect(withCarrierLatency(bus, 0)).toBe(bus);
  });
});
