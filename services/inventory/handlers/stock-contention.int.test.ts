import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderLine, OrderflowMessage } from '@orderflow/contracts';
import { type ServiceDatabase, createEventFactory } from '@orderflow/platform';
import { type Transaction, sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findTestPostgres, openTestServiceDatabase } from '../../../packages/platform/src/database/test-databases.ts';
import { type InventoryDatabase, type InventoryTables, inventoryMigrations } from '../store/schema.ts';
import { releaseStock } from './release-stock.ts';
import { reserveStock } from './reserve-stock.ts';

// PostgreSQL only: SQLite runs one write transaction at a time, so these races cannot happen there.
const { url: serverUrl } = await findTestPostgres();

const events = createEventFactory('order');
const now = () => new Date().toISOString();
const reserve = reserveStock({ events: createEventFactory('inventory'), now, failOnInjectedSku: () => false });
const release = releaseStock({ events: createEventFactory('inventory'), now });
const line = (productId: string, quantity = 1): OrderLine => ({ productId, quantity, unitPrice: 100 });
const orderCreated = (orderId: string, items: OrderLine[]) =>
  events.create('OrderCreated', orderId, { customerId: 'c', items, total: items.length * 100, currency: 'USD' });
const errorText = (result: PromiseSettledResult<unknown>) => (result.status === 'rejected' ? String(result.reason) : undefined);

describe.skipIf(!serverUrl)('changing stock concurrently on PostgreSQL', () => {
  let database: ServiceDatabase<InventoryTables>;
  beforeAll(async () => {
    database = await openTestServiceDatabase<InventoryTables>(serverUrl ?? '', { service: 'inventory', poolSize: 10 }, inventoryMigrations);
  });
  afterAll(() => database?.close());
  beforeEach(async () => {
    const db = database.db;
    await db.deleteFrom('reservation_lines').execute();
    await db.deleteFrom('reservations').execute();
    await db.deleteFrom('products').execute();
    await db
      .insertInto('products')
      .values(['p-a', 'p-b', 'p-c'].map((id) => ({ product_id: id, name: id, unit_price: 100, currency: 'USD', available: 1_000, updated_at: now() })))
      .execute();
  });

  const handle = <E extends OrderflowMessage>(handler: (event: E, trx: Transaction<InventoryDatabase>) => Promise<OrderflowMessage[]>, event: E) =>
    database.db.transaction().execute((trx) => handler(event, trx as Transaction<InventoryDatabase>));
  const stock = async () =>
    Object.fromEntries((await database.db.selectFrom('products').select(['product_id', 'available']).execute()).map((r) => [r.product_id, r.available]));
  /** Backends of this database waiting for a lock (a row another transaction holds). */
  const waitingForLocks = async () =>
    Number(
      (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(database.db))
        .rows[0]?.n,
    );

  it('given two orders for the same products in opposite line orders, released together onto rows a third transaction held, then neither deadlocks', async () => {
    // The interleaving that deadlocked: each order takes its first product while the
    // other holds it... made certain by a third transaction that holds both rows until
    // both orders wait, then lets them go at once.
    let releaseRows!: () => void;
    const rowsReleased = new Promise<void>((resolve) => (releaseRows = resolve));
    let rowsHeld!: () => void;
    const held = new Promise<void>((resolve) => (rowsHeld = resolve));
    const holder = database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('products').select('product_id').where('product_id', 'in', ['p-a', 'p-b']).forUpdate().execute();
      rowsHeld();
      await rowsReleased;
    });
    await held;
    const reservations = Promise.allSettled([
      handle(reserve, orderCreated('forward', [line('p-a'), line('p-b')])),
      handle(reserve, orderCreated('backward', [line('p-b'), line('p-a')])),
    ]);
    const deadline = Date.now() + 10_000;
    while ((await waitingForLocks()) < 2) {
      if (Date.now() > deadline) throw new Error('the two reservations never waited for the held rows');
      await sleep(10);
    }
    releaseRows();
    await holder;

    const errors = (await reservations).map(errorText).filter((e) => e !== undefined);
    expect(errors.filter((e) => e.includes('deadlock detected'))).toEqual([]);
    expect(errors).toEqual([]);
    expect(await stock()).toEqual({ 'p-a': 998, 'p-b': 998, 'p-c': 1_000 });
  });

  it('given many concurrent multi-line orders in opposite line orders, then none sees "deadlock detected" and stock adds up', async () => {
    const orders = Array.from({ length: 60 }, (_, i) => {
      const lines = [line('p-a', 1), line('p-b', 2), line('p-c', 3)];
      return orderCreated(`order-${i}`, i % 2 === 0 ? lines : lines.reverse());
    });
    const results = await Promise.allSettled(orders.map((order) => handle(reserve, order)));

    const errors = results.map(errorText).filter((e) => e !== undefined);
    expect(errors.filter((e) => e.includes('deadlock detected'))).toEqual([]);
    expect(errors).toEqual([]);
    expect(await stock()).toEqual({ 'p-a': 940, 'p-b': 880, 'p-c': 820 });
  });

  it('given concurrent releases of one product, then each InventoryReleased carries the level after its own change, and the last one the final level', async () => {
    const ids = ['r-1', 'r-2', 'r-3', 'r-4'];
    for (const id of ids) await handle(reserve, orderCreated(id, [line('p-a', 5), line('p-b', 1)]));
    expect((await stock())['p-a']).toBe(980);

    const released = await Promise.all(
      ids.map((id) => handle(release, events.create('PaymentFailed', id, { reason: 'DECLINED', amount: 600, currency: 'USD' }))),
    );
    const levelsOfA = released.map((out) => {
      const event = out[0];
      if (event?.type !== 'InventoryReleased') throw new Error(`expected InventoryReleased, got ${event?.type}`);
      return event.data.levels.find((l) => l.productId === 'p-a')?.available;
    });
    // Each release added 5 to what the one before it left: the levels are 985, 990, 995, 1000 in commit order.
    expect(levelsOfA.toSorted((a, b) => (a ?? 0) - (b ?? 0))).toEqual([985, 990, 995, 1_000]);
    expect(await stock()).toEqual({ 'p-a': 1_000, 'p-b': 1_000, 'p-c': 1_000 });
  });
});
