import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../e2e/harness.ts';
import { type FaultSystem, PRODUCTS, expectEveryOrderCompletedOnce, startFaultSystem, stockOf, streamOrders, timeline } from './fault-system.ts';

/** Issue 5's crash test: the orchestrator dies without warning in the middle of a stream of orders. */
describe('SIGKILL to the orchestrator while orders flow (orchestration mode)', () => {
  let s: FaultSystem;
  beforeAll(async () => {
    s = await startFaultSystem({ SAGA_MODE: 'orchestration' });
  });
  afterAll(() => s?.stop());

  it('restarted, it resumes every saga from its database: every order completes, stock conserved, nothing charged twice', async () => {
    const mark = timeline('SIGKILL to the orchestrator');
    const before = await stockOf(s.urls, PRODUCTS);
    const stream = streamOrders(s.urls, { ratePerSecond: 15, products: PRODUCTS });
    await sleep(4_000);

    // No chance to finish anything: uncommitted saga steps are redelivered, committed
    // ones are in the database with their commands in the outbox.
    await s.cluster.kill('orchestrator', 'SIGKILL');
    mark('orchestrator killed');
    await sleep(2_000);
    await s.cluster.start('orchestrator');
    mark('orchestrator started again');
    await sleep(3_000);
    await stream.stop();
    mark(`stream stopped: ${stream.accepted.size} orders accepted`);
    expect(stream.accepted.size).toBeGreaterThan(0);

    await expectEveryOrderCompletedOnce(s, stream, before, mark);
    mark('checked: nothing lost, nothing twice');
  });
});
