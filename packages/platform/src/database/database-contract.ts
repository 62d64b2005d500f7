import { setTimeout as sleep } from 'node:timers/promises';
import { type OrderflowEvent, parseEvent } from '@orderflow/contracts';
import { type Kysely, sql } from 'kysely';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Bus, BusMessage } from '../bus/bus.ts';
import { createEmbeddedBus } from '../bus/embedded-bus.ts';
import { consumeEvents } from '../messaging/event-consumer.ts';
import { createEventFactory, toBusMessage } from '../messaging/event-factory.ts';
import { appendToOutbox, type OutboxRelay, startOutboxRelay } from '../messaging/outbox.ts';
import { startRetentionSweeper, sweepExpired } from '../messaging/retention.ts';
import { createServiceMetrics } from '../metrics.ts';
import { openSettingsStore } from '../settings-store.ts';
import { type DatabaseOptions, type ServiceDatabase, openDatabase } from './database.ts';
import type { PlatformTables } from './platform-tables.ts';

/** A database of its own for one test: the same target opened twice is the same data. */
export interface ContractTarget {
  options(service: string): DatabaseOptions;
  drop(): Promise<void>;
}

export interface ContractCapabilities {
  /**
   * Several processes (replicas of a service) may open the same database at once.
   * PostgreSQL: yes. SQLite: no, its file belongs to one process (the embedded mode).
   */
  replicas: boolean;
}

/** The one table of the contract's test service: stock with the same guard inventory uses. */
interface ContractTables {
  widgets: { widget_id: string; available: number; price: number };
}
type Db = Kysely<ContractTables & PlatformTables>;

const migrations = {
  '0001_widgets': async (db: Kysely<unknown>) => {
    await db.schema
      .createTable('widgets')
      .addColumn('widget_id', 'text', (c) => c.primaryKey())
      .addColumn('available', 'integer', (c) => c.notNull().check(sql`available >= 0`))
      .addColumn('price', 'bigint', (c) => c.notNull())
      .execute();
  },
};

const logger = pino({ level: 'silent' });
const events = createEventFactory('contract');
/** An event whose key is `key` and whose customerId carries a sequence number to check order by. */
const numbered = (key: string, seq: number): OrderflowEvent =>
  events.create('OrderCreated', key, { customerId: `seq-${seq}`, items: [{ productId: 'widget', quantity: 1, unitPrice: 100 }], total: 100, currency: 'USD' });
const seqOf = (value: string) => {
  const event = parseEvent(value);
  return event.type === 'OrderCreated' ? Number(event.data.customerId.slice('seq-'.length)) : Number.NaN;
};

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** A bus that records what is published, slowly, so that two relays have time to overlap. */
function recordingBus(delayMs: number): Bus & { published: BusMessage[] } {
  const inner = createEmbeddedBus({ file: ':memory:' });
  const published: BusMessage[] = [];
  return {
    kind: inner.kind,
    published,
    ensureTopics: (topics) => inner.ensureTopics(topics),
    async publish(messages) {
      await sleep(delayMs);
      published.push(...messages);
      await inner.publish(messages);
    },
    subscribe: (options) => inner.subscribe(options),
    readAll: (topic) => inner.readAll(topic),
    isReady: () => inner.isReady(),
    close: () => inner.close(),
  };
}

/**
 * What every database the platform runs on must do for the services: run their
 * migrations repeatably, commit state with outbox rows atomically, drop duplicate
 * messages, relay the outbox in order, and keep settings.
 */
export function databaseContract(name: string, open: () => Promise<ContractTarget>, capabilities: ContractCapabilities): void {
  describe(`database contract: ${name}`, () => {
    let target: ContractTarget;
    const opened = new Set<ServiceDatabase<ContractTables>>();
    const relays: OutboxRelay[] = [];

    beforeEach(async () => {
      target = await open();
    });
    afterEach(async () => {
      await Promise.all(relays.splice(0).map((r) => r.stop()));
      await Promise.all([...opened].map((d) => d.close()));
      opened.clear();
      await target.drop();
    });

    async function openService(service = 'widgets') {
      const database = await openDatabase<ContractTables>(target.options(service), migrations);
      opened.add(database);
      return database;
    }
    async function close(database: ServiceDatabase<ContractTables>) {
      opened.delete(database);
      await database.close();
    }
    const relayOf = (db: Db, bus: Bus, dialect: ServiceDatabase<ContractTables>['dialect']) => {
      const relay = startOutboxRelay(db as unknown as Kysely<PlatformTables>, bus, logger, { pollMs: 25, dialect });
      relays.push(relay);
      return relay;
    };
    const outboxCount = async (db: Db) => Number((await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

    it('runs migrations once: reopening keeps the data, and each service has tables of its own', async () => {
      const first = await openService();
      await first.db.insertInto('widgets').values({ widget_id: 'w1', available: 5, price: 2999 }).execute();
      await close(first);

      const again = await openService();
      expect(await again.isReady()).toBe(true);
      expect(await again.db.selectFrom('widgets').selectAll().execute()).toEqual([{ widget_id: 'w1', available: 5, price: 2999 }]);

      const other = await openService('gadgets');
      expect(await other.db.selectFrom('widgets').selectAll().execute()).toEqual([]);
      await appendToOutbox(other.db, [numbered('o1', 1)]);
      expect(await outboxCount(other.db)).toBe(1);
      expect(await outboxCount(again.db)).toBe(0);

      if (again.dialect === 'postgres') {
        const { rows } = await sql<{ table_schema: string }>`select table_schema from information_schema.tables where table_name = 'widgets' order by 1`.execute(again.db);
        expect(rows.map((r) => r.table_schema)).toEqual(['gadgets', 'widgets']);
      }
    });

    it.runIf(capabilities.replicas)('lets replicas start together: one migrates, the others find the schema ready', async () => {
      const replicas = await Promise.all([openService('fresh'), openService('fresh'), openService('fresh')]);
      await replicas[0]?.db.insertInto('widgets').values({ widget_id: 'w1', available: 1, price: 1 }).execute();
      for (const replica of replicas) expect(await replica.db.selectFrom('widgets').select('widget_id').execute()).toEqual([{ widget_id: 'w1' }]);
    });

    it('commits state and outbox rows together, or neither', async () => {
      const { db } = await openService();
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('widgets').values({ widget_id: 'kept', available: 1, price: 100 }).execute();
        await appendToOutbox(trx, [numbered('kept', 1), numbered('kept', 2)]);
      });
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('widgets').values({ widget_id: 'lost', available: 1, price: 100 }).execute();
          await appendToOutbox(trx, [numbered('lost', 1)]);
          throw new Error('handler failed after writing');
        }),
      ).rejects.toThrow('handler failed after writing');
      // A constraint that fails inside the transaction undoes the earlier writes too.
      await expect(
        db.transaction().execute(async (trx) => {
          await appendToOutbox(trx, [numbered('lost', 2)]);
          await trx.updateTable('widgets').set({ available: -1 }).where('widget_id', '=', 'kept').execute();
        }),
      ).rejects.toThrow();

      expect(await db.selectFrom('widgets').select(['widget_id', 'available']).execute()).toEqual([{ widget_id: 'kept', available: 1 }]);
      expect((await db.selectFrom('outbox').select('key').orderBy('id').execute()).map((r) => r.key)).toEqual(['kept', 'kept']);
    });

    it('reads bigint columns, generated ids and counts as numbers, and a guarded decrement never oversells', async () => {
      const { db } = await openService();
      await db.insertInto('widgets').values({ widget_id: 'w', available: 10, price: 9_007_199_254_740_991 }).execute();
      await appendToOutbox(db, [numbered('w', 1)]);
      const widget = await db.selectFrom('widgets').selectAll().executeTakeFirstOrThrow();
      const outbox = await db.selectFrom('outbox').select('id').executeTakeFirstOrThrow();
      expect(widget).toEqual({ widget_id: 'w', available: 10, price: 9_007_199_254_740_991 });
      expect(typeof outbox.id).toBe('number');
      const count = await db.selectFrom('widgets').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(count.n).toBe(1);

      // As inventory reserves: the guard is in the statement, so concurrent transactions
      // cannot take more than there is, with or without row locks.
      const take = (quantity: number) =>
        db.transaction().execute(async (trx) => {
          const result = await trx
            .updateTable('widgets')
            .set((eb) => ({ available: eb('available', '-', quantity) }))
            .where('widget_id', '=', 'w')
            .where('available', '>=', quantity)
            .executeTakeFirst();
          return Number(result.numUpdatedRows);
        });
      const taken = await Promise.all(Array.from({ length: 8 }, () => take(3)));
      expect(taken.filter((n) => n === 1)).toHaveLength(3);
      expect((await db.selectFrom('widgets').select('available').executeTakeFirstOrThrow()).available).toBe(1);
      // And the CHECK constraint refuses what a missing guard would let through.
      await expect(db.updateTable('widgets').set({ available: -1 }).execute()).rejects.toThrow();
    });

    it('handles a message once per consumer group, even when it is delivered twice at the same time', async () => {
      const database = await openService();
      const { db } = database;
      const bus = createEmbeddedBus({ file: ':memory:' });
      try {
        const relay = relayOf(db, bus, database.dialect);
        let calls = 0;
        const consumer = await consumeEvents<ContractTables>(
          { service: 'contract', db, bus, relay, logger, metrics: createServiceMetrics('contract') },
          'widgets-reserve',
          {
            OrderCreated: async (event, trx) => {
              calls++;
              await trx.insertInto('widgets').values({ widget_id: event.orderId ?? '', available: 1, price: event.data.total }).execute();
              return [];
            },
          },
        );
        const created = numbered('order-1', 1);
        const record = { ...toBusMessage(created, undefined), partition: 0, offset: '0', timestamp: Date.now() };
        await Promise.all([consumer.process(record), consumer.process(record)]);
        await consumer.process(record);
        await consumer.subscription.close();

        expect(calls).toBe(1);
        expect(await db.selectFrom('widgets').select('widget_id').execute()).toEqual([{ widget_id: 'order-1' }]);
        expect(await db.selectFrom('inbox').select(['consumer_group', 'message_id']).execute()).toEqual([
          { consumer_group: 'widgets-reserve', message_id: created.id },
        ]);
        // What the consumer relies on: a conflicting insert reports zero rows.
        const again = await db
          .insertInto('inbox')
          .values({ consumer_group: 'widgets-reserve', message_id: created.id, processed_at: new Date().toISOString() })
          .onConflict((oc) => oc.columns(['consumer_group', 'message_id']).doNothing())
          .executeTakeFirst();
        expect(Number(again.numInsertedOrUpdatedRows ?? 0n)).toBe(0);
      } finally {
        await bus.close();
      }
    });

    it('relays the outbox in order, then deletes what it published', async () => {
      const database = await openService();
      const bus = recordingBus(0);
      try {
        for (let seq = 1; seq <= 30; seq++) {
          await database.db.transaction().execute((trx) => appendToOutbox(trx, [numbered(`order-${seq % 3}`, seq)]));
        }
        const relay = relayOf(database.db, bus, database.dialect);
        await waitUntil(async () => (await outboxCount(database.db)) === 0, 'the outbox is empty');
        await relay.drain();
        expect(bus.published.map((m) => seqOf(m.value))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
        expect((await bus.readAll('orders')).length).toBe(30);
      } finally {
        await bus.close();
      }
    });

    it.runIf(capabilities.replicas)('lets two relays share one outbox: each row is published once, and each key in commit order', async () => {
      const replicas = [await openService(), await openService()];
      const bus = recordingBus(3);
      try {
        const relayByReplica = replicas.map((r) => relayOf(r.db, bus, r.dialect));
        const WRITERS = 6;
        const COMMITS = 25;
        // Each writer commits its own key's events one transaction after the other,
        // alternating replicas, and wakes that replica's relay as a service would.
        await Promise.all(
          Array.from({ length: WRITERS }, async (_, writer) => {
            for (let commit = 0; commit < COMMITS; commit++) {
              const index = (writer + commit) % replicas.length;
              const replica = replicas[index];
              if (!replica) throw new Error('unreachable');
              await replica.db.transaction().execute((trx) => appendToOutbox(trx, [numbered(`key-${writer}`, commit * 2), numbered(`key-${writer}`, commit * 2 + 1)]));
              relayByReplica[index]?.wake();
            }
          }),
        );
        const expected = WRITERS * COMMITS * 2;
        await waitUntil(async () => bus.published.length >= expected && (await Promise.all(replicas.map((r) => outboxCount(r.db)))).every((n) => n === 0), 'every row is published');
        await Promise.all(relayByReplica.map((r) => r.drain()));

        const ids = bus.published.map((m) => parseEvent(m.value).id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(expected);
        for (let writer = 0; writer < WRITERS; writer++) {
          const seqs = bus.published.filter((m) => m.key === `key-${writer}`).map((m) => seqOf(m.value));
          expect(seqs, `key-${writer}`).toEqual(Array.from({ length: COMMITS * 2 }, (_, i) => i));
        }
      } finally {
        await bus.close();
      }
    });

    it('expires inbox rows past the window in chunks: a duplicate inside it is still dropped, and an unresolved dead letter keeps its event\'s row', async () => {
      const database = await openService();
      const { db } = database;
      const bus = createEmbeddedBus({ file: ':memory:' });
      try {
        const relay = relayOf(db, bus, database.dialect);
        const handled: string[] = [];
        const consumer = await consumeEvents<ContractTables>({ service: 'contract', db, bus, relay, logger, metrics: createServiceMetrics('contract') }, 'widgets-count', {
          OrderCreated: async (event) => {
            handled.push(event.orderId ?? '');
            return [];
          },
        });
        await consumer.subscription.close();
        const recordOf = (event: OrderflowEvent, offset: number) => ({ ...toBusMessage(event, undefined), partition: 0, offset: String(offset), timestamp: Date.now() });
        const [old, fresh, deadLettered] = [numbered('old', 1), numbered('fresh', 2), numbered('dead-lettered', 3)];
        for (const [offset, event] of [old, fresh, deadLettered].entries()) await consumer.process(recordOf(event, offset));
        // Handled ten days ago: old, and deadLettered, whose other copy is an unresolved dead letter.
        const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000).toISOString();
        await db.updateTable('inbox').set({ processed_at: tenDaysAgo }).where('message_id', 'in', [old.id, deadLettered.id]).execute();
        const deadLetter = {
          consumer_group: 'widgets-count', topic: 'orders', partition: 0, key: 'dead-lettered', value: '{}', headers: '{}', error: 'Error: failed', attempts: 3, failed_at: tenDaysAgo, replayed_at: null,
        };
        await db.insertInto('dead_letters').values({ ...deadLetter, offset: '99', message_id: deadLettered.id }).execute();
        // Many more expired rows than one chunk deletes.
        const EXPIRED = 2_500;
        await db
          .insertInto('inbox')
          .values(Array.from({ length: EXPIRED }, (_, i) => ({ consumer_group: 'widgets-count', message_id: `expired-${i}`, processed_at: tenDaysAgo })))
          .execute();

        const sevenDaysAgo = new Date(Date.now() - 7 * 86_400_000);
        expect(await sweepExpired(db as unknown as Kysely<PlatformTables>, sevenDaysAgo, { chunkRows: 1_000 })).toEqual({ inbox: EXPIRED + 1, deadLetters: 0 });
        const inboxIds = async () => (await db.selectFrom('inbox').select('message_id').execute()).map((r) => r.message_id).sort();
        expect(await inboxIds()).toEqual([deadLettered.id, fresh.id].sort());

        // Redelivered inside the window: dropped. Past it: handled again (what the window must be long enough to prevent).
        await consumer.process(recordOf(fresh, 1));
        await consumer.process(recordOf(deadLettered, 2));
        expect(handled).toEqual(['old', 'fresh', 'dead-lettered']);
        await consumer.process(recordOf(old, 0));
        expect(handled).toEqual(['old', 'fresh', 'dead-lettered', 'old']);

        // Once the dead letter is resolved its event's row expires like any other.
        await db.updateTable('dead_letters').set({ discarded_at: new Date().toISOString() }).execute();
        expect(await sweepExpired(db as unknown as Kysely<PlatformTables>, sevenDaysAgo)).toEqual({ inbox: 1, deadLetters: 0 });
        expect(await inboxIds()).toEqual([fresh.id, old.id].sort());
      } finally {
        await bus.close();
      }
    });

    it('deletes dead letters replayed or discarded before the window, and keeps unresolved ones whatever their age', async () => {
      const { db } = await openService();
      const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
      const row = (offset: string, resolution: { replayed_at?: string; discarded_at?: string }) => ({
        consumer_group: 'g', topic: 'orders', partition: 0, offset, key: offset, value: '{}', headers: '{}', error: 'Error: failed', attempts: 3, failed_at: at(30), replayed_at: null, ...resolution,
      });
      await db
        .insertInto('dead_letters')
        .values([
          row('unresolved', {}),
          row('replayed-long-ago', { replayed_at: at(10) }),
          row('discarded-long-ago', { discarded_at: at(10) }),
          row('replayed-lately', { replayed_at: at(1) }),
          row('discarded-lately', { discarded_at: at(1) }),
        ])
        .execute();
      expect(await sweepExpired(db as unknown as Kysely<PlatformTables>, new Date(Date.now() - 7 * 86_400_000))).toEqual({ inbox: 0, deadLetters: 2 });
      expect((await db.selectFrom('dead_letters').select('offset').orderBy('offset').execute()).map((r) => r.offset)).toEqual(['discarded-lately', 'replayed-lately', 'unresolved']);
    });

    it('sweeps periodically only once the consumers have caught up, and stops cleanly, even while waiting for them', async () => {
      const { db } = await openService();
      const platformDb = db as unknown as Kysely<PlatformTables>;
      await db.insertInto('inbox').values({ consumer_group: 'g', message_id: 'expired', processed_at: '2026-01-01T00:00:00.000Z' }).execute();
      let caughtUp: () => void = () => undefined;
      const deleted: number[] = [];
      const sweeper = startRetentionSweeper(platformDb, logger, {
        retentionMs: 3_600_000,
        intervalMs: 10,
        caughtUp: () => new Promise<void>((resolve) => (caughtUp = resolve)),
        onDeleted: (rows) => deleted.push(rows.inbox),
      });
      await sleep(100);
      expect(await db.selectFrom('inbox').select('message_id').execute()).toEqual([{ message_id: 'expired' }]);
      caughtUp();
      await waitUntil(async () => (await db.selectFrom('inbox').select('message_id').execute()).length === 0, 'the expired row is swept');
      await sweeper.stop();
      expect(deleted[0]).toBe(1);

      const waiting = startRetentionSweeper(platformDb, logger, { retentionMs: 3_600_000, intervalMs: 10, caughtUp: () => new Promise<void>(() => undefined) });
      await sleep(50);
      await waiting.stop(); // resolves although the consumers never caught up
    });

    it('keeps settings across a reopen', async () => {
      const Switches = z.object({ failRate: z.number().min(0).max(1), enabled: z.boolean() });
      const first = await openService();
      const store = await openSettingsStore(first.db, 'switches', Switches, { failRate: 0, enabled: false });
      expect(store.current()).toEqual({ failRate: 0, enabled: false });
      await store.update({ failRate: 0.25 });
      await store.update({ enabled: true });
      await close(first);

      const again = await openService();
      const reopened = await openSettingsStore(again.db, 'switches', Switches, { failRate: 0, enabled: false });
      expect(reopened.current()).toEqual({ failRate: 0.25, enabled: true });
    });
  });
}
