import type { ServiceName } from '@orderflow/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestartPolicy } from '../../apps/orderflow/src/cluster.ts';
import { eventually, placeOrder, request, sleep, waitForTerminal } from '../e2e/harness.ts';
import { type FaultSystem, PRODUCTS, expectEveryOrderCompletedOnce, orderCount, startFaultSystem, stockOf, streamOrders, timeline } from './fault-system.ts';

/** As npm run start:cluster's, but quick and with a short fuse: two crashes within a minute and the service stays down. */
const POLICY: RestartPolicy = { maxCrashes: 2, windowMs: 60_000, initialBackoffMs: 200, maxBackoffMs: 1_000 };

/**
 * Issue 10: service processes coming and going on Kafka, one system for the file. kill -9
 * of a service, which the cluster starts again as Kubernetes would; a second replica of a
 * service joining its consumer group under load, then leaving it (SIGTERM, a scale-down);
 * a service that keeps crashing, given up on. Every order ends once; timings are printed,
 * never asserted.
 */
describe('service processes on Kafka: kill -9 and restart, a replica joining and leaving, a crash loop', () => {
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

  it('kill -9 of inventory: the replacement answers /health, orders flow through it again, and every order completes once', async () => {
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

  it('a second payment replica joins, then leaves, under load: orders keep completing through both rebalances, each exactly once', async () => {
    const mark = timeline('payment replica');
    const before = await stockOf(s.urls, PRODUCTS);
    const ordersBefore = await orderCount(s.urls);
    const stream = streamOrders(s.urls, { ratePerSecond: 10, products: PRODUCTS });
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

    await expectEveryOrderCompletedOnce(s, stream, before, mark, ordersBefore);
    mark('checked: nothing lost, nothing twice');
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
