import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../e2e/harness.ts';
import { type FaultSystem, PRODUCTS, expectEveryOrderCompletedOnce, startFaultSystem, stockOf, streamOrders, timeline } from './fault-system.ts';

describe('SIGTERM to a service while orders flow', () => {
  let s: FaultSystem;
  beforeAll(async () => {
    // A carrier call of 300 ms before the handler's transaction, on 6 partitions: at any
    // moment a few shipments are in flight.
    s = await startFaultSystem({ SHIPPING_DELAY_MS: '300', BUS_PARTITIONS: '6' });
  });
  afterAll(() => s?.stop());

  it('the handlers in flight finish and commit before it exits; restarted, it takes up the rest, and nothing happens twice', async () => {
    const mark = timeline('SIGTERM to shipping');
    const before = await stockOf(s.urls, PRODUCTS);
    const stream = streamOrders(s.urls, { ratePerSecond: 15, products: PRODUCTS });
    await sleep(4_000);

    const signalledAt = Date.now();
    const code = await s.cluster.kill('shipping', 'SIGTERM');
    mark(`shipping exited with code ${code}`);
    expect(code).toBe(0);
    // Shipments decided after the signal were in flight when it came: they were committed
    // and their Shipped events published before the process exited.
    const shipped = (await s.bus.readAll('shipping')).map((r) => JSON.parse(r.value) as { type: string; occurredAt: string });
    const finishedAfterSignal = shipped.filter((e) => e.type === 'Shipped' && Date.parse(e.occurredAt) >= signalledAt);
    mark(`${finishedAfterSignal.length} shipments in flight at the signal were finished`);
    expect(finishedAfterSignal.length).toBeGreaterThan(0);

    // Orders keep coming while shipping is away; they wait on the log.
    await sleep(3_000);
    await s.cluster.start('shipping');
    mark('shipping started again');
    await sleep(3_000);
    await stream.stop();
    mark(`stream stopped: ${stream.accepted.size} orders accepted`);

    await expectEveryOrderCompletedOnce(s, stream, before, mark);
    mark('checked: nothing lost, nothing twice');
  });
});
