import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderView, OrderflowEvent } from '@orderflow/contracts';
import { type Bus, type ServiceRuntime, createEmbeddedBus, loadConfig, startServiceRuntime, toBusMessage } from '@orderflow/platform';
import { testDatabaseTargets } from '../../../packages/platform/src/database/test-databases.ts';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventOf } from '../domain/events.fixture.ts';
import { type StockLevels, evolveInventory, inventoryList } from '../domain/inventory-levels.ts';
import { evolveOrderView } from '../domain/order-projection.ts';
import { statsFrom, tallyChanges } from '../domain/order-stats.ts';
import { openReadModel } from '../main.ts';
import { type PageCursor, sortMsOf } from './read-model.ts';
import { type StatusTables, statusMigrations } from './schema.ts';

const targets = await testDatabaseTargets('status-read-model-');

/** An order's events: created, then a path chosen by its number (completed, paid, cancelled, or still pending). */
function orderEvents(i: number): OrderflowEvent[] {
  const orderId = `order-${String(i).padStart(4, '0')}`;
  const customerId = `customer-${i % 3}`;
  const items = [{ productId: 'product-1', quantity: 1, unitPrice: 1000 + i }];
  const base = { customerId, items, total: 1000 + i, currency: 'USD' };
  const second = i * 7;
  const events: OrderflowEvent[] = [eventOf('OrderCreated', { orderId, second, data: base })];
  if (i % 4 === 3) return events;
  events.push(eventOf('InventoryConfirmed', { orderId, second: second + 1, data: { ...base, levels: [] } }));
  if (i % 4 === 2) return [...events, eventOf('OrderCancelled', { orderId, second: second + 2, data: { status: 'CANCELLED', reason: 'customer request' } })];
  events.push(eventOf('PaymentCompleted', { orderId, second: second + 2, data: { amount: base.total } }));
  if (i % 4 === 1) return events;
  return [...events, eventOf('Shipped', { orderId, second: second + 3 }), eventOf('OrderCompleted', { orderId, second: second + 4 })];
}

/** What the read model must hold after these events: the domain's deciders folded over them, in memory. */
function expectedOf(events: readonly OrderflowEvent[]) {
  const views = new Map<string, OrderView>();
  let levels: StockLevels = new Map();
  const seen = new Set<string>();
  for (const event of events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    levels = evolveInventory(levels, event);
    const view = evolveOrderView(event.orderId === null ? undefined : views.get(event.orderId), event);
    if (view) views.set(view.orderId, view);
  }
  const newestFirst = [...views.values()].sort((a, b) => sortMsOf(b) - sortMsOf(a) || (a.orderId < b.orderId ? 1 : -1));
  return { views, newestFirst, inventory: inventoryList(levels) };
}

const restock = eventOf('InventoryRestocked', { data: { quantity: 1000, available: 1000 } });
const NOW = new Date(Date.parse('2025-03-01T10:00:00.000Z') + 20 * 60_000);

describe.each(targets)('the persisted read model on %s', (_name, makeTarget) => {
  let target: Awaited<ReturnType<typeof makeTarget>>;
  let logDir: string;
  let bus: Bus;
  let runtime: ServiceRuntime<StatusTables> | undefined;
  let model: Awaited<ReturnType<typeof openReadModel>>;
  const published: OrderflowEvent[] = [];

  /** Starts the service's runtime and projection on the target database and the log in logDir, and waits for it to catch up. */
  async function start() {
    const config = loadConfig({ DATA_DIR: target.dataDir, ...(target.url ? { DATABASE_URL: target.url } : {}), LOG_LEVEL: 'silent' });
    runtime = await startServiceRuntime<StatusTables>({ service: 'status', migrations: statusMigrations, config, bus, logger: pino({ level: 'silent' }) });
    model = await openReadModel(runtime);
    await model.projection.caughtUp();
  }
  async function stop() {
    await runtime?.stop();
    runtime = undefined;
  }
  async function publish(events: readonly OrderflowEvent[]) {
    published.push(...events);
    await bus.publish(events.map((e) => toBusMessage(e, undefined)));
  }
  /** Waits until the active generation has projected this many events. */
  async function projected(count: number) {
    const deadline = Date.now() + 20_000;
    const db = runtime!.db;
    for (;;) {
      const row = await db.selectFrom('projection_generations').select('events_projected').where('role', '=', 'active').executeTakeFirstOrThrow();
      if (Number(row.events_projected) >= count) return;
      if (Date.now() > deadline) throw new Error(`projected ${row.events_projected} of ${count} events`);
      await sleep(20);
    }
  }
  const processed = async (outcome: string) => {
    const metric = await runtime!.metrics.registry.getSingleMetric('orderflow_events_processed_total')!.get();
    return metric.values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
  };
  async function allPages(query: { status?: OrderView['status']; customerId?: string }, limit: number) {
    const seen: string[] = [];
    let before: PageCursor | undefined;
    do {
      const page = await model.queries.page({ ...query, limit, before });
      expect(page.items.length).toBeLessThanOrEqual(limit);
      seen.push(...page.items.map((v) => v.orderId));
      before = page.nextCursor ?? undefined;
    } while (before);
    return seen;
  }

  beforeEach(async () => {
    target = await makeTarget();
    logDir = mkdtempSync(join(tmpdir(), 'status-log-'));
    bus = createEmbeddedBus({ file: join(logDir, 'broker.db') });
    published.length = 0;
    await publish([restock, ...Array.from({ length: 40 }, (_, i) => orderEvents(i)).flat()]);
    await start();
  });
  afterEach(async () => {
    await stop();
    await bus.close();
    await target.drop();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('holds what the deciders make of the log: each view by id, the stock levels, the stats', async () => {
    const expected = expectedOf(published);
    for (const [orderId, view] of expected.views) expect(await model.queries.order(orderId)).toEqual(view);
    expect(await model.queries.inventory()).toEqual(expected.inventory);
    expect(await model.queries.stats(NOW)).toEqual(statsFrom(tallyChanges([...expected.views.values()].map((v) => [undefined, v] as const)), NOW));
    expect(await model.queries.order('order-none')).toBeUndefined();
  });

  it('pages newest first without gaps or repeats, filtered by status and by customer', async () => {
    const expected = expectedOf(published).newestFirst;
    expect(await allPages({}, 7)).toEqual(expected.map((v) => v.orderId));
    expect(await allPages({ status: 'COMPLETED' }, 3)).toEqual(expected.filter((v) => v.status === 'COMPLETED').map((v) => v.orderId));
    expect(await allPages({ customerId: 'customer-1' }, 4)).toEqual(expected.filter((v) => v.customerId === 'customer-1').map((v) => v.orderId));
    const first = await model.queries.page({ limit: 50 });
    expect(first.items).toHaveLength(40);
    expect(first.nextCursor).toBeNull();
  });

  it('a redelivered event (same id), later or in the same batch, changes nothing: views, stock and counts stay', async () => {
    const before = { views: await allPages({}, 100), inventory: await model.queries.inventory(), stats: await model.queries.stats(NOW) };
    const again = [restock, ...published.filter((e) => e.type === 'InventoryConfirmed' || e.type === 'OrderCompleted').slice(0, 6)];
    const marker = eventOf('OrderCreated', { orderId: 'order-marker', second: 1 });
    await publish([...again, ...again, marker]);
    await projected(published.length - 2 * again.length);
    expect(await model.queries.inventory()).toEqual(before.inventory);
    const stats = await model.queries.stats(NOW);
    expect(stats.totalOrders).toBe(before.stats.totalOrders + 1);
    expect(stats.revenue).toEqual(before.stats.revenue);
    for (const event of again) expect(await model.queries.order(event.orderId!)).toEqual(expectedOf(published).views.get(event.orderId!));
    expect(await processed('duplicate')).toBe(2 * again.length);
  });

  it('order events need no inbox row (their view knows the ids it applied); restocks, which belong to no order, have one each', async () => {
    const inbox = await runtime!.db.selectFrom('inbox').select('message_id').where('consumer_group', '=', 'status').execute();
    expect(inbox.map((row) => row.message_id)).toEqual([restock.id]);
  });

  it('an order whose OrderCreated comes after its other events is listed under its customer, its status and its creation time', async () => {
    const orderId = 'order-late-created';
    const data = { customerId: 'customer-late', items: [{ productId: 'product-1', quantity: 1, unitPrice: 500 }], total: 500, currency: 'USD' };
    await publish([eventOf('PaymentCompleted', { orderId, second: 3_001, data: { amount: 500 } })]);
    await projected(published.length);
    await publish([eventOf('NotificationSent', { orderId, second: 3_002 })]);
    await projected(published.length);
    expect(await allPages({ customerId: 'customer-late' }, 10)).toEqual([]);
    await publish([eventOf('OrderCreated', { orderId, second: 2_999, data })]);
    await projected(published.length);
    expect(await allPages({ customerId: 'customer-late' }, 10)).toEqual([orderId]);
    expect(await allPages({ status: 'PAID' }, 100)).toContain(orderId);
    const expected = expectedOf(published);
    expect(await allPages({}, 100)).toEqual(expected.newestFirst.map((v) => v.orderId));
    expect(await model.queries.order(orderId)).toEqual(expected.views.get(orderId));
  });

  it('events of one order handled at once (two topics, two transactions) both reach its view', async () => {
    const created = Array.from({ length: 20 }, (_, i) => eventOf('OrderCreated', { orderId: `order-race-${i}`, second: 900 + i }));
    await publish(created);
    await projected(published.length);
    const consumer = runtime!.consumers[0]!;
    const record = (event: OrderflowEvent) => ({ ...toBusMessage(event, undefined), partition: 0, offset: '0', timestamp: Date.now() });
    const later = created.flatMap((c) => [
      eventOf('InventoryConfirmed', { orderId: c.orderId, second: 950 }),
      eventOf('PaymentCompleted', { orderId: c.orderId, second: 951 }),
      eventOf('NotificationSent', { orderId: c.orderId, second: 951 }),
    ]);
    // Each record alone, all at once, as partitions of different topics are delivered.
    await Promise.all(later.map((event) => consumer.process(record(event))));
    for (const c of created) {
      const view = await model.queries.order(c.orderId!);
      expect(view?.timeline.map((e) => e.type).sort()).toEqual(['InventoryConfirmed', 'NotificationSent', 'OrderCreated', 'PaymentCompleted']);
    }
  });

  it('a restart continues where it stopped: nothing projected before is read again, and new events are', async () => {
    const counted = published.length;
    await projected(counted);
    await stop();
    await publish([eventOf('OrderCreated', { orderId: 'order-while-down', second: 5 })]);
    await start();
    await projected(counted + 1);
    // The group's position was kept: only the one new event reached the projection (a replay would count 1 + the whole log as duplicates).
    expect(await processed('handled')).toBe(1);
    expect(await processed('duplicate')).toBe(0);
    expect(await model.queries.order('order-while-down')).toMatchObject({ status: 'PENDING' });
    expect(await model.queries.stats(NOW)).toMatchObject({ totalOrders: 41 });
  });

  it('a rebuild stopped with the service goes on at the next start, and only then takes over', async () => {
    await publish(Array.from({ length: 2_000 }, (_, i) => eventOf('OrderCreated', { orderId: `bulk-${i}`, second: 400 + i })));
    await projected(published.length);
    expect(await model.projection.startRebuild()).toMatchObject({ generation: 2, state: 'running' });
    await stop();
    await start();
    const roles = await runtime!.db.selectFrom('projection_generations').select(['generation', 'role']).orderBy('generation').execute();
    expect(roles.map((r) => [Number(r.generation), r.role])).toEqual([
      [1, 'active'],
      [2, 'rebuilding'],
    ]);
    await model.projection.rebuildSettled();
    expect(await model.projection.rebuildProgress()).toMatchObject({ generation: 2, state: 'done', eventsProjected: published.length });
    expect(await allPages({}, 500)).toEqual(expectedOf(published).newestFirst.map((v) => v.orderId));
  });

  it('a rebuild projects the log again into a new copy while the old one serves, then takes over and goes on live', async () => {
    // A bug's trace in the current copy that only a rebuild from the log repairs.
    await runtime!.db.updateTable('order_views').set({ status: 'PENDING', view: JSON.stringify({ ...(await model.queries.order('order-0000')), status: 'PENDING' }) }).where('order_id', '=', 'order-0000').execute();
    await publish(Array.from({ length: 2_000 }, (_, i) => eventOf('OrderCreated', { orderId: `bulk-${i}`, second: 400 + i })));
    await projected(published.length);
    const started = await model.projection.startRebuild();
    expect(started).toMatchObject({ generation: 2, state: 'running' });
    expect(await model.projection.startRebuild()).toBeUndefined();
    // Served from the old copy while the new one is built: the bug is still there.
    expect((await model.queries.order('order-0000'))?.status).toBe('PENDING');
    await model.projection.rebuildSettled();

    const progress = await model.projection.rebuildProgress();
    expect(progress).toMatchObject({ generation: 2, state: 'done', eventsProjected: published.length, lag: 0, error: null });
    const expected = expectedOf(published);
    expect((await model.queries.order('order-0000'))?.status).toBe('COMPLETED');
    expect(await allPages({}, 500)).toEqual(expected.newestFirst.map((v) => v.orderId));
    for (const orderId of ['order-0001', 'order-0002', 'order-0039', 'bulk-7']) expect(await model.queries.order(orderId)).toEqual(expected.views.get(orderId));
    expect(await model.queries.inventory()).toEqual(expected.inventory);
    const db = runtime!.db;
    expect(await db.selectFrom('order_views').select('order_id').where('generation', '=', 1).execute()).toEqual([]);
    expect(runtime!.consumers.map((c) => c.group)).toEqual(['status-g2']);

    await publish([eventOf('OrderCreated', { orderId: 'order-after-rebuild', second: 9_000 })]);
    await projected(published.length);
    expect(await model.queries.order('order-after-rebuild')).toMatchObject({ status: 'PENDING' });
  });
});
