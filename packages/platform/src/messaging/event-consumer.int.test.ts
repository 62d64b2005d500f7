import { setTimeout as sleep } from 'node:timers/promises';
import { Header, parseEvent } from '@orderflow/contracts';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, BusRecord, RetryPolicy } from '../bus/bus.ts';
import { createEmbeddedBus } from '../bus/embedded-bus.ts';
import { type ServiceDatabase, openDatabase } from '../database/database.ts';
import type { PlatformTables } from '../database/platform-tables.ts';
import { testDatabaseTargets } from '../database/test-databases.ts';
import { type ServiceMetrics, createServiceMetrics } from '../metrics.ts';
import { type BatchProjection, type EventHandler, type EventHandlers, consumeEvents } from './event-consumer.ts';
import { createEventFactory, toBusMessage } from './event-factory.ts';
import { type OutboxRelay, appendToOutbox, startOutboxRelay } from './outbox.ts';

/** The one table of the test service: what it reserved per order. */
interface TestTables {
  reservations: { order_id: string; quantity: number };
}

const migrations = {
  '0001_reservations': async (db: Kysely<unknown>) => {
    await db.schema
      .createTable('reservations')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .execute();
  },
};

const RETRY: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 };
const GROUP = 'inventory-reserve';

const events = createEventFactory('test');
const orderCreated = (orderId: string, quantity = 2) =>
  events.create('OrderCreated', orderId, {
    customerId: 'customer-1',
    items: [{ productId: 'widget', quantity, unitPrice: 2999 }],
    total: quantity * 2999,
    currency: 'USD',
  });

async function waitUntil(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

let database: ServiceDatabase<TestTables>;
let db: Kysely<TestTables & PlatformTables>;
let bus: Bus;
let relay: OutboxRelay;
let metrics: ServiceMetrics;
const logger = pino({ level: 'silent' });

beforeEach(async () => {
  database = await openDatabase<TestTables>({ service: 'test', dataDir: ':memory:' }, migrations);
  db = database.db;
  bus = createEmbeddedBus({ file: ':memory:' });
  relay = startOutboxRelay(db as unknown as Kysely<PlatformTables>, bus, logger, { pollMs: 50 });
  metrics = createServiceMetrics('test');
});

afterEach(async () => {
  await relay.stop();
  await bus.close();
  await database.close();
});

const consume = (handlers: EventHandlers<TestTables>) => consumeEvents<TestTables>({ service: 'test', db, bus, relay, logger, metrics, retry: RETRY }, GROUP, handlers);

/** Reserves the order's quantity and announces it: one state row, one outgoing event. */
const reserve: EventHandler<TestTables, 'OrderCreated'> = async (event, trx) => {
  const quantity = event.data.items.reduce((sum, line) => sum + line.quantity, 0);
  await trx.insertInto('reservations').values({ order_id: event.orderId ?? '', quantity }).execute();
  return [
    events.create(
      'InventoryConfirmed',
      event.orderId,
      { ...event.data, levels: [{ productId: 'widget', available: 100 - quantity }] },
      { id: event.id, correlationId: event.correlationId },
    ),
  ];
};
const reserveAndConfirm: EventHandlers<TestTables> = { OrderCreated: reserve };

const reservations = () => db.selectFrom('reservations').selectAll().orderBy('order_id').execute();
const outboxRows = () => db.selectFrom('outbox').selectAll().execute();
const inboxRows = () => db.selectFrom('inbox').selectAll().execute();
const deadLetterRows = () => db.selectFrom('dead_letters').selectAll().execute();
const eventsOn = async (topic: string) => (await bus.readAll(topic)).map((record) => parseEvent(record.value));

async function outcomeCount(outcome: string): Promise<number> {
  const metric = await metrics.eventsProcessed.get();
  return metric.values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
}

describe('consumeEvents', () => {
  it('given the same envelope published twice, when consumed, then the state changes once and one event is emitted (inbox)', async () => {
    const consumer = await consume(reserveAndConfirm);
    const created = orderCreated('order-1');
    const record = toBusMessage(created, undefined);

    await bus.publish([record]);
    await bus.publish([record]);

    await waitUntil(async () => (await outcomeCount('duplicate')) === 1, 'the redelivery is seen as a duplicate');
    await relay.drain();
    expect(await reservations()).toEqual([{ order_id: 'order-1', quantity: 2 }]);
    expect(await inboxRows()).toEqual([{ consumer_group: GROUP, message_id: created.id, processed_at: expect.any(String) }]);
    expect(await outcomeCount('emitted')).toBe(1);
    expect((await eventsOn('inventory')).map((e) => e.type)).toEqual(['InventoryConfirmed']);
    await consumer.subscription.close();
  });

  it('given a handler that returns events, when its transaction is open, then nothing is published until it commits', async () => {
    let entered = () => {};
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowReserve: EventHandlers<TestTables> = {
      OrderCreated: async (event, trx) => {
        const outgoing = await reserve(event, trx);
        entered();
        await gate;
        return outgoing;
      },
    };
    await consume(slowReserve);
    const created = orderCreated('order-2', 3);

    await bus.publish([toBusMessage(created, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')]);
    await handlerEntered;
    relay.wake();
    await sleep(20);
    expect(await bus.readAll('inventory')).toEqual([]);
    release();

    await waitUntil(async () => (await bus.readAll('inventory')).length === 1, 'the outgoing event is published');
    const [published] = await bus.readAll('inventory');
    expect(parseEvent(published?.value ?? '')).toMatchObject({ type: 'InventoryConfirmed', orderId: 'order-2', causationId: created.id });
    // The outgoing record continues the incoming trace.
    expect(published?.headers[Header.traceparent]).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(await reservations()).toEqual([{ order_id: 'order-2', quantity: 3 }]);
    await relay.drain();
    expect(await outboxRows()).toEqual([]);
  });

  it('given a handler that writes state and outbox rows then throws, when retries run out, then nothing is half-written and the record is dead-lettered', async () => {
    let attempts = 0;
    const failingReserve: EventHandlers<TestTables> = {
      OrderCreated: async (event, trx) => {
        attempts++;
        const outgoing = await reserve(event, trx);
        await appendToOutbox(trx, outgoing);
        throw new Error('stock table is corrupt');
      },
    };
    await consume(failingReserve);
    const created = orderCreated('order-3');

    await bus.publish([toBusMessage(created, undefined)]);

    await waitUntil(async () => (await deadLetterRows()).length === 1, 'the record is in dead_letters');
    expect(attempts).toBe(RETRY.maxAttempts);
    expect(await reservations()).toEqual([]);
    expect(await outboxRows()).toEqual([]);
    expect(await inboxRows()).toEqual([]);
    expect(await bus.readAll('inventory')).toEqual([]);
    expect(await deadLetterRows()).toEqual([
      expect.objectContaining({
        consumer_group: GROUP,
        topic: 'orders',
        offset: '0',
        key: 'order-3',
        value: JSON.stringify(created),
        error: 'Error: stock table is corrupt',
        attempts: 3,
        replayed_at: null,
        discarded_at: null,
        // Named so that the retention sweep keeps this event's inbox row until the dead letter is resolved.
        message_id: created.id,
      }),
    ]);
    await waitUntil(async () => (await bus.readAll('orders.DLT')).length === 1, 'the record is on orders.DLT');
    const [dlt] = await bus.readAll('orders.DLT');
    expect(dlt).toMatchObject({
      key: 'order-3',
      value: JSON.stringify(created),
      headers: { [Header.dltAttempts]: '3', [Header.dltConsumerGroup]: GROUP, [Header.dltOriginalTopic]: 'orders' },
    });
  });

  it('given a record whose value is not JSON, when consumed, then it goes to the DLT at once with attempts 1', async () => {
    let calls = 0;
    await consume({
      OrderCreated: async () => {
        calls++;
        return [];
      },
    });

    await bus.publish([{ topic: 'orders', key: 'order-4', value: 'not json', headers: {} }]);

    await waitUntil(async () => (await deadLetterRows()).length === 1, 'the record is in dead_letters');
    const [row] = await deadLetterRows();
    expect(row).toMatchObject({ topic: 'orders', key: 'order-4', value: 'not json', attempts: 1, message_id: null });
    expect(row?.error).toMatch(/^PoisonRecordError: record value is not JSON/);
    expect(calls).toBe(0);
    const dlt = await bus.readAll('orders.DLT');
    expect(dlt).toHaveLength(1);
    expect(dlt[0]?.headers[Header.dltAttempts]).toBe('1');
  });

  it('given a poison record followed by a good one, when consumed, then the good one is still handled', async () => {
    await consume(reserveAndConfirm);

    await bus.publish([
      { topic: 'orders', key: 'order-5', value: 'not json', headers: {} },
      toBusMessage(orderCreated('order-5'), undefined),
    ]);

    await waitUntil(async () => (await reservations()).length === 1, 'the good record is handled');
    expect(await deadLetterRows()).toHaveLength(1);
  });

  it('given an event of a type the group does not handle, when consumed, then it is acknowledged without an inbox row', async () => {
    await consume(reserveAndConfirm);
    const created = orderCreated('order-6');

    // Same key, so the OrderCreated after it is handled only once the OrderCancelled was.
    await bus.publish([
      toBusMessage(events.create('OrderCancelled', 'order-6', { status: 'CANCELLED', reason: 'CUSTOMER_REQUEST' }), undefined),
      toBusMessage(created, undefined),
    ]);

    await waitUntil(async () => (await reservations()).length === 1, 'the OrderCreated after it is handled');
    expect((await inboxRows()).map((row) => row.message_id)).toEqual([created.id]);
    expect(await deadLetterRows()).toEqual([]);
  });
});

const targets = await testDatabaseTargets('orderflow-batch-');

describe.each(targets)('consumeEvents in batches on %s', (_name, makeTarget) => {
  let target: Awaited<ReturnType<typeof makeTarget>>;
  let batchDatabase: ServiceDatabase<TestTables>;
  let batchDb: Kysely<TestTables & PlatformTables>;
  let batchBus: Bus;
  let batchRelay: OutboxRelay;
  /** The transactions handlers ran in, in order: one per batch. */
  let transactions: unknown[];
  /** Orders whose handler returned, in the order they did (a rolled-back batch included). */
  let handledOrder: string[];

  beforeEach(async () => {
    target = await makeTarget();
    batchDatabase = await openDatabase<TestTables>({ service: 'batchtest', dataDir: target.dataDir, url: target.url, poolSize: 4 }, migrations);
    batchDb = batchDatabase.db;
    batchBus = createEmbeddedBus({ file: ':memory:' });
    batchRelay = startOutboxRelay(batchDb as unknown as Kysely<PlatformTables>, batchBus, logger, { pollMs: 50, dialect: batchDatabase.dialect });
    transactions = [];
    handledOrder = [];
  });
  afterEach(async () => {
    await batchRelay.stop();
    await batchBus.close();
    await batchDatabase.close();
    await target.drop();
  });

  /** reserve, noting its transaction; throws for the order `failing`. */
  const tracked =
    (failing?: string): EventHandlers<TestTables> => ({
      OrderCreated: async (event, trx) => {
        if (!transactions.includes(trx)) transactions.push(trx);
        if (event.orderId === failing) throw new Error(`cannot reserve for ${failing}`);
        const outgoing = await reserve(event, trx);
        handledOrder.push(event.orderId ?? '');
        return outgoing;
      },
    });
  const consumeBatches = (handlers: EventHandlers<TestTables>, batchMax?: number, group = GROUP) =>
    consumeEvents<TestTables>(
      { service: 'batchtest', db: batchDb, bus: batchBus, relay: batchRelay, logger, metrics: createServiceMetrics('batchtest'), retry: RETRY, dialect: batchDatabase.dialect, ...(batchMax ? { batchMax } : {}) },
      group,
      handlers,
    );
  const asRecords = (messages: ReturnType<typeof toBusMessage>[]): BusRecord[] =>
    messages.map((m, offset) => ({ ...m, partition: 0, offset: String(offset), timestamp: Date.now() }));
  const reserved = () => batchDb.selectFrom('reservations').select('order_id').orderBy('order_id').execute();
  /** Orders of the events published to inventory (the topic's partitions interleave: sorted). */
  const publishedOrders = async () => (await batchBus.readAll('inventory')).map((r) => parseEvent(r.value).orderId).sort();
  const inboxIds = async () => (await batchDb.selectFrom('inbox').select('message_id').execute()).map((r) => r.message_id).sort();

  it('given two batches that change the same rows in opposite orders at the same time, when both are handled, then neither deadlocks: both commit', async () => {
    await batchDb.insertInto('reservations').values([{ order_id: 'row-x', quantity: 0 }, { order_id: 'row-y', quantity: 0 }]).execute();
    // Each record bumps the row its customer names, then takes its time (the other batch gets its first row meanwhile).
    const bump: EventHandlers<TestTables> = {
      OrderCreated: async (event, trx) => {
        await trx.updateTable('reservations').set((eb) => ({ quantity: eb('quantity', '+', 1) })).where('order_id', '=', event.data.customerId).execute();
        await sleep(150);
        return [];
      },
    };
    const [first, second] = [await consumeBatches(bump, undefined, 'bump-1'), await consumeBatches(bump, undefined, 'bump-2')];
    const touching = (rows: string[]) =>
      asRecords(rows.map((row, i) => toBusMessage(events.create('OrderCreated', `order-${row}-${i}`, { customerId: row, items: [{ productId: 'p', quantity: 1, unitPrice: 1 }], total: 1, currency: 'USD' }), undefined)));

    const outcomes = await Promise.all([first.processBatch(touching(['row-x', 'row-y'])), second.processBatch(touching(['row-y', 'row-x']))]);

    expect(outcomes).toEqual([{ handled: 2 }, { handled: 2 }]);
    expect(await batchDb.selectFrom('reservations').select(['order_id', 'quantity']).orderBy('order_id').execute()).toEqual([
      { order_id: 'row-x', quantity: 2 },
      { order_id: 'row-y', quantity: 2 },
    ]);
  });

  it('given a projection that names the rows of its events, when batches of different orders are handled at once on PostgreSQL, then neither waits for the other, and one order\'s batches run one after the other', async (ctx) => {
    if (batchDatabase.dialect !== 'postgres') ctx.skip(); // SQLite has one writer at a time
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const projected: string[] = [];
    const projection: BatchProjection<TestTables> = {
      types: ['OrderCreated'],
      recognisesRepeats: () => true,
      async project(messages, trx) {
        for (const m of messages) {
          await trx.insertInto('reservations').values({ order_id: m.id, quantity: 1 }).execute();
          if (m.type === 'OrderCreated' && m.data.customerId === 'hold') {
            holding = true;
            await held;
          }
          projected.push(m.id);
        }
        return { repeats: new Set(), afterCommit: () => undefined };
      },
    };
    const consumer = await consumeEvents<TestTables>(
      { service: 'batchtest', db: batchDb, bus: batchBus, relay: batchRelay, logger, metrics: createServiceMetrics('batchtest'), retry: RETRY, dialect: batchDatabase.dialect },
      'projector',
      projection,
      { lockKeys: (messages) => messages.map((m) => `order:${m.orderId}`) },
    );
    const created = (orderId: string, customerId: string) =>
      events.create('OrderCreated', orderId, { customerId, items: [{ productId: 'p', quantity: 1, unitPrice: 1 }], total: 1, currency: 'USD' });
    const [a1, a2, b] = [created('order-a', 'hold'), created('order-a', 'customer-2'), created('order-b', 'customer-3')];

    const first = consumer.processBatch(asRecords([toBusMessage(a1, undefined)]));
    await waitUntil(() => holding, 'the first batch of order-a is inside its transaction');
    // Another order: its own lock, not the held one.
    const other = await Promise.race([consumer.processBatch(asRecords([toBusMessage(b, undefined)])), sleep(3_000).then(() => 'waited')]);
    expect(other).toEqual({ handled: 1 });
    // The same order: waits for the first batch's commit.
    const second = consumer.processBatch(asRecords([toBusMessage(a2, undefined)]));
    await sleep(300);
    expect(projected).toEqual([b.id]);
    release();
    expect(await Promise.all([first, second])).toEqual([{ handled: 1 }, { handled: 1 }]);
    expect(projected).toEqual([b.id, a1.id, a2.id]);
    await consumer.subscription.close();
  });

  it('given records waiting on a partition, when the group consumes them, then they are handled in one transaction with one inbox row each, and their events are published in order', async () => {
    const created = Array.from({ length: 12 }, (_, i) => orderCreated(`order-${String(i).padStart(2, '0')}`));
    // One key: one partition, read at once.
    await batchBus.publish(created.map((event) => ({ ...toBusMessage(event, undefined), key: 'one-partition' })));

    const consumer = await consumeBatches(tracked());
    await consumer.subscription.caughtUp();

    expect(transactions).toHaveLength(1);
    expect(await inboxIds()).toEqual(created.map((e) => e.id).sort());
    expect(handledOrder).toEqual(created.map((e) => e.orderId));
    expect((await reserved()).map((r) => r.order_id)).toEqual(created.map((e) => e.orderId));
    await waitUntil(async () => (await batchBus.readAll('inventory')).length === 12, 'every outgoing event is published');
    expect(await publishedOrders()).toEqual(created.map((e) => e.orderId));
    await consumer.subscription.close();
  });

  it('given a batch holding the same event twice, when it is handled, then the copy is skipped: one state change, one inbox row, one event', async () => {
    const consumer = await consumeBatches(tracked());
    const [a, b] = [orderCreated('order-a'), orderCreated('order-b')];

    const outcome = await consumer.processBatch(asRecords([toBusMessage(a, undefined), toBusMessage(b, undefined), toBusMessage(a, undefined)]));

    expect(outcome).toEqual({ handled: 3 });
    expect(transactions).toHaveLength(1);
    expect(await reserved()).toEqual([{ order_id: 'order-a' }, { order_id: 'order-b' }]);
    expect(await inboxIds()).toEqual([a.id, b.id].sort());
    await batchRelay.drain();
    await waitUntil(async () => (await batchBus.readAll('inventory')).length === 2, 'both events are published');
    await sleep(50);
    expect(handledOrder).toEqual(['order-a', 'order-b']);
    expect(await publishedOrders()).toEqual(['order-a', 'order-b']);
  });

  it('given a handler that throws in the middle of a batch, when the batch is handled, then the records before it commit in a second transaction and nothing of it or after it is written', async () => {
    const consumer = await consumeBatches(tracked('order-2'));
    const created = [1, 2, 3].map((n) => orderCreated(`order-${n}`));

    const outcome = await consumer.processBatch(asRecords(created.map((e) => toBusMessage(e, undefined))));

    expect(outcome.handled).toBe(1);
    expect(String(outcome.error)).toBe('Error: cannot reserve for order-2');
    expect(transactions).toHaveLength(2); // the batch, rolled back; then order-1 alone
    expect(await reserved()).toEqual([{ order_id: 'order-1' }]);
    expect(await inboxIds()).toEqual([created[0]!.id]);
    await batchRelay.drain();
    await waitUntil(async () => (await batchBus.readAll('inventory')).length === 1, 'order-1 is published');
    await sleep(50);
    expect(handledOrder).toEqual(['order-1', 'order-1']); // handled in the batch, rolled back, handled again alone
    expect(await publishedOrders()).toEqual(['order-1']);
  });

  it('given waiting records with a failing and a poison one among them, when the group consumes them, then each other record is handled once, in order, and those two are dead-lettered', async () => {
    const created = Array.from({ length: 8 }, (_, i) => orderCreated(`order-${i}`));
    const messages = created.map((event) => ({ ...toBusMessage(event, undefined), key: 'one-partition' }));
    messages.splice(5, 0, { topic: 'orders', key: 'one-partition', value: 'not json', headers: {} });
    await batchBus.publish(messages);

    const consumer = await consumeBatches(tracked('order-2'), 4);
    await consumer.subscription.caughtUp();

    expect((await reserved()).map((r) => r.order_id)).toEqual(created.map((e) => e.orderId).filter((id) => id !== 'order-2'));
    expect(await inboxIds()).toEqual(created.filter((e) => e.orderId !== 'order-2').map((e) => e.id).sort());
    const deadLetters = await batchDb.selectFrom('dead_letters').select(['key', 'attempts', 'error']).orderBy('offset').execute();
    expect(deadLetters).toEqual([
      { key: 'one-partition', attempts: RETRY.maxAttempts, error: 'Error: cannot reserve for order-2' },
      { key: 'one-partition', attempts: 1, error: expect.stringMatching(/^PoisonRecordError/) },
    ]);
    // Batches of 4: order-0, order-1, then order-2 fails and order-0 and order-1 are redone alone; the rest never twice.
    expect(handledOrder).toEqual(['order-0', 'order-1', 'order-0', 'order-1', 'order-3', 'order-4', 'order-5', 'order-6', 'order-7']);
    await waitUntil(async () => (await batchBus.readAll('inventory')).length === 7, 'every outgoing event is published');
    expect(await publishedOrders()).toEqual(created.map((e) => e.orderId).filter((id) => id !== 'order-2'));
    await consumer.subscription.close();
  });
});
