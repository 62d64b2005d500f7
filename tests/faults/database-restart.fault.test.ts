import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, sleep } from '../e2e/harness.ts';
import { type FaultSystem, expectEveryOrderCompletedOnce, readiness, startFaultSystem, stockOf, streamOrders, timeline, waitUntilAllReady } from './fault-system.ts';

const PRODUCTS = ['product-1', 'ABC-001', 'product-3'];

describe('a PostgreSQL restart in the middle of a stream of orders', () => {
  let s: FaultSystem;
  beforeAll(async () => {
    s = await startFaultSystem();
    for (const productId of PRODUCTS) await request(`${s.urls.inventory}/inventory/${productId}/restock`, { body: { quantity: 1_000 } });
  });
  afterAll(() => s?.stop());

  it('services report not ready while it is down, reconnect, and every order completes once', async () => {
    const mark = timeline('PostgreSQL restart');
    const before = await stockOf(s.urls, PRODUCTS);
    const stream = streamOrders(s.urls, { ratePerSecond: 20, products: PRODUCTS });
    await sleep(3_000);
    const acceptedBeforeOutage = stream.accepted.size;

    // A fast shutdown: open connections and transactions in flight are cut, as in a failover.
    await s.postgres.stop();
    mark('PostgreSQL stopped');
    const down = await waitUntilAllReady(s.urls, false, 20_000);
    mark('every /ready false');
    // New orders are refused meanwhile (503/500); the client sends them again with the same Idempotency-Key.
    await sleep(3_000);
    await s.postgres.start();
    mark('PostgreSQL started');
    await waitUntilAllReady(s.urls, true, 60_000);
    mark('every /ready true');

    await sleep(3_000);
    await stream.stop();
    mark(`stream stopped: ${stream.accepted.size} orders accepted`);
    expect(Object.values(down).some(Boolean)).toBe(false);
    expect(acceptedBeforeOutage).toBeGreaterThan(20);
    expect(stream.retried()).toBeGreaterThan(0);
    expect(Object.values(await readiness(s.urls)).every(Boolean)).toBe(true);

    await expectEveryOrderCompletedOnce(s, stream, before, mark);
    mark('checked: nothing lost, nothing twice');
  });
});
