import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../e2e/harness.ts';
import {
  type FaultSystem,
  type FaultSystemOptions,
  type OrderStream,
  PRODUCTS,
  expectEveryOrderCompletedOnce,
  readiness,
  startFaultSystem,
  stockOf,
  streamOrders,
  timeline,
  waitUntilAllReady,
} from './fault-system.ts';

export interface Outage {
  server: string;
  restarted: (s: FaultSystem) => { stop(): Promise<void>; start(): Promise<void> };
  /** What clients see while it is down, checked once the stream stopped. */
  meanwhile: string;
  expectMeanwhile: (stream: OrderStream, acceptedBeforeOutage: number) => void;
  /** Orders placed per second (default 20). */
  ratePerSecond?: number;
}

/**
 * A server stopped for a few seconds in the middle of a stream of orders, then started
 * again: every service reports not ready while it is down and ready once it is back, and
 * every order completes exactly once. Timings are printed, never asserted.
 */
export function describeOutage(outage: Outage, system: FaultSystemOptions = {}) {
  describe(`a ${outage.server} restart in the middle of a stream of orders`, () => {
    let s: FaultSystem;
    beforeAll(async () => {
      s = await startFaultSystem({}, system);
    });
    afterAll(() => s?.stop());

    it(`services report not ready while it is down, reconnect, and every order completes once (meanwhile ${outage.meanwhile})`, async () => {
      const mark = timeline(`${outage.server} restart`);
      const before = await stockOf(s.urls, PRODUCTS);
      const ratePerSecond = outage.ratePerSecond ?? 20;
      const stream = streamOrders(s.urls, { ratePerSecond, products: PRODUCTS });
      await sleep(3_000);
      const acceptedBeforeOutage = stream.accepted.size;

      await outage.restarted(s).stop();
      mark(`${outage.server} stopped`);
      const down = await waitUntilAllReady(s.urls, false, 30_000);
      mark('every /ready false');
      await sleep(3_000);
      await outage.restarted(s).start();
      mark(`${outage.server} started`);
      await waitUntilAllReady(s.urls, true, 60_000);
      mark('every /ready true');

      await sleep(3_000);
      await stream.stop();
      mark(`stream stopped: ${stream.accepted.size} orders accepted`);
      expect(Object.values(down).some(Boolean)).toBe(false);
      // Orders flowed before the outage: more than a second's worth of the rate accepted in its first 3 s.
      expect(acceptedBeforeOutage).toBeGreaterThan(ratePerSecond);
      outage.expectMeanwhile(stream, acceptedBeforeOutage);
      expect(Object.values(await readiness(s.urls)).every(Boolean)).toBe(true);

      await expectEveryOrderCompletedOnce(s, stream, before, mark);
      mark('checked: nothing lost, nothing twice');
    });
  });
}
