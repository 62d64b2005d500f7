import type { ServiceName } from '@orderflow/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestartPolicy } from '../../apps/orderflow/src/cluster.ts';
import { eventually, placeOrder, request, sleep, waitForTerminal } from '../e2e/harness.ts';
import { type FaultSystem, PRODUCTS, expectEveryOrderCompletedOnce, startFaultSystem, stockOf, streamOrders, timeline } from './fault-system.ts';

/** As npm run start:cluster's, but quick and with a short fuse: two crashes within a minute and the service stays down. */
const POLICY: RestartPolicy = { maxCrashes: 2, windowMs: 60_000, initialBackoffMs: 200, maxBackoffMs: 1_000 };

/** Issue 10: kill -9 of one service on Kafka; the cluster starts a replacement as Kubernetes would. */
describe('kill -9 of a service on Kafka, restarted by the cluster', () => {
  let s: FaultSystem;
  const gaveUp: ServiceName[] = [];
  beforeAll(async () => {
    s = await startFaultSystem({}, { broker: 'kafka', restartPolicy: POLICY, onGiveUp: (name) => gaveUp.push(name) });
  });
  afterAll(() => s?.stop());

  const pidOf = (name: ServiceName) => s.cluster.pids()[name];
  /** The service's /health answers 200 from a process other than `old`. */
  const replacementHealthy = (name: ServiceName, old: number | undefined) =>
    eventually(
      async () => {
        const pid = pidOf(name);
        if (pid === undefined || pid === old) return undefined;
        const health = await fetch(`${s.urls[name]}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
        return health?.status === 200 ? pid : undefined;
      },
      `a new ${name} process answering /health`,
      60_000,
    );

  it('the replacement answers /health, orders flow through it again, and every order completes once', async () => {
    const mark = timeline('kill -9 of inventory');
    const before = await stockOf(s.urls, PRODUCTS);
    const stream = streamOrders(s.urls, { ratePerSecond: 10, products: PRODUCTS });
    await sleep(3_000);

    const old = pidOf('inventory');
    expect(old).toBeDefined();
    const killedAt = Date.now();
    process.kill(old!, 'SIGKILL');
    mark('inventory killed (SIGKILL)');
    await replacementHealthy('inventory', old);
    const healthAfterMs = Date.now() - killedAt;
    mark(`replacement answers /health ${healthAfterMs} ms after the kill`);
    // An order placed now needs the new inventory process's consumer: flowing again.
    const probe = await placeOrder(s.urls, { customerId: 'after-kill', items: [{ productId: PRODUCTS[0], quantity: 1 }] });
    const ended = await eventually(
      async () => {
        const view = await request<{ status: string }>(`${s.urls.status}/status/${probe.body.orderId}`);
        return view.status === 200 && view.body.status === 'COMPLETED' ? view.body : undefined;
      },
      'an order placed after the kill to complete',
      90_000,
    );
    const flowingAfterMs = Date.now() - killedAt;
    mark(`an order placed after the kill completed ${flowingAfterMs} ms after the kill`);
    console.info(`[faults] kill -9 on Kafka: /health of the replacement after ${healthAfterMs} ms; orders flowing again after ${flowingAfterMs} ms`);
    expect(ended.status).toBe('COMPLETED');

    await sleep(2_000);
    await stream.stop();
    mark(`stream stopped: ${stream.accepted.size} orders accepted`);
    stream.accepted.set('probe', { orderId: probe.body.orderId, productId: PRODUCTS[0]! });
    await expectEveryOrderCompletedOnce(s, stream, before, mark);
    mark('checked: nothing lost, nothing twice');
    expect(gaveUp).toEqual([]);
  });

  it('a service that keeps crashing is given up on: it stays down and the cluster says so', async () => {
    const first = pidOf('notification');
    process.kill(first!, 'SIGKILL');
    const second = await replacementHealthy('notification', first);
    process.kill(second, 'SIGKILL');
    await eventually(async () => (gaveUp.includes('notification') ? true : undefined), 'the cluster to give up on notification', 10_000);
    await sleep(POLICY.maxBackoffMs * 2);
    expect(pidOf('notification')).toBeUndefined();
    expect(gaveUp).toEqual(['notification']);
    // The rest keeps working: an order still completes (its confirmation waits for a notification process).
    const order = await placeOrder(s.urls, { customerId: 'after-give-up', items: [{ productId: PRODUCTS[1], quantity: 1 }] });
    expect((await waitForTerminal(s.urls, order.body.orderId)).status).toBe('COMPLETED');
  });
});
