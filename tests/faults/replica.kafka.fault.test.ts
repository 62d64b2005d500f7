import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../e2e/harness.ts';
import { type FaultSystem, PRODUCTS, expectEveryOrderCompletedOnce, startFaultSystem, stockOf, streamOrders, timeline } from './fault-system.ts';

/**
 * Issue 10: a second replica of a service joins its consumer group under load, then
 * leaves it (SIGTERM, as a scale-down): the group rebalances twice, and no order is lost
 * or handled twice. Timings are printed, never asserted.
 */
describe('a second payment replica joining, then leaving, under load on Kafka', () => {
  let s: FaultSystem;
  beforeAll(async () => {
    s = await startFaultSystem({}, { broker: 'kafka' });
  });
  afterAll(() => s?.stop());

  it('orders keep completing through both rebalances, each exactly once', async () => {
    const mark = timeline('payment replica');
    const before = await stockOf(s.urls, PRODUCTS);
    const stream = streamOrders(s.urls, { ratePerSecond: 15, products: PRODUCTS });
    await sleep(3_000);

    const joining = Date.now();
    const replica = await s.cluster.startReplica('payment');
    mark(`second payment process ready after ${Date.now() - joining} ms (pid ${replica.pid})`);
    await sleep(6_000);
    const acceptedWithTwo = stream.accepted.size;

    const leaving = Date.now();
    expect(await replica.stop('SIGTERM')).toBe(0);
    mark(`second payment process gone after ${Date.now() - leaving} ms`);
    await sleep(4_000);
    await stream.stop();
    mark(`stream stopped: ${stream.accepted.size} orders accepted (${acceptedWithTwo} by the time the replica left)`);
    expect(stream.accepted.size).toBeGreaterThan(acceptedWithTwo);

    await expectEveryOrderCompletedOnce(s, stream, before, mark);
    mark('checked: nothing lost, nothing twice');
  });
});
