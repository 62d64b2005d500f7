import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { OrderView } from '@orderflow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSystem, placeOrder, request, startTestSystem, tokenFor, waitForTerminal } from './harness.ts';

const run = promisify(execFile);

describe('rebuilding the status read model', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem();
  });
  afterAll(() => t.stop());

  it('npm run rebuild-status rebuilds from the log and the new copy serves the same orders, stats and stock', async () => {
    const placed = await Promise.all(
      ['product-1', 'ABC-001', 'product-1'].map((productId, i) => placeOrder(t.urls, { customerId: `rebuild-${i}`, items: [{ productId, quantity: 1 }] })),
    );
    const ids = placed.map((p) => p.body.orderId);
    await Promise.all(ids.map((id) => waitForTerminal(t.urls, id)));
    const read = async () => ({
      views: await Promise.all(ids.map(async (id) => (await request<OrderView>(`${t.urls.status}/status/${id}`)).body)),
      page: (await request<{ items: OrderView[] }>(`${t.urls.status}/status?limit=50`)).body.items.map((v) => v.orderId),
      // The per-minute counts cover the last 30 minutes up to now, zeros included: only the
      // minutes with orders are compared, or a minute turning between the reads would differ.
      stats: withOrdersOnly((await request<StatsBody>(`${t.urls.status}/stats`)).body),
      inventory: (await request(`${t.urls.status}/inventory`)).body,
    });
    const before = await read();
    expect((await request(`${t.urls.status}/projection/rebuild`)).body).toMatchObject({ generation: 1, state: 'idle' });

    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'apps/orderflow/src/rebuild-status.ts', '--url', t.urls.status!], {
      env: { ...process.env, ORDERFLOW_TOKEN: await tokenFor('operator') },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/generation 2: done, \d+ events projected/);
    expect(await read()).toEqual(before);
    const progress = (await request(`${t.urls.status}/projection/rebuild`)).body;
    expect(progress).toMatchObject({ generation: 2, state: 'done', lag: 0 });
    expect(progress.eventsProjected).toBeGreaterThan(ids.length * 5);
  });

  it('is for operators only', async () => {
    expect((await request(`${t.urls.status}/projection/rebuild`, { method: 'POST', token: await tokenFor({ customerId: 'c-1' }) })).status).toBe(403);
    expect((await request(`${t.urls.status}/projection/rebuild`, { token: await tokenFor({ customerId: 'c-1' }) })).status).toBe(403);
  });
});

type StatsBody = { ordersPerMinute: { minute: string; count: number }[] } & Record<string, unknown>;
const withOrdersOnly = (stats: StatsBody) => ({ ...stats, ordersPerMinute: stats.ordersPerMinute.filter((m) => m.count > 0) });
