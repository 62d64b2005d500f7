import { setTimeout as sleep } from 'node:timers/promises';
import { parseEvent } from '@orderflow/contracts';
import type { Kysely } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusMessage } from '../bus/bus.ts';
import { createEmbeddedBus } from '../bus/embedded-bus.ts';
import { type ServiceDatabase, openDatabase } from '../database/database.ts';
import type { PlatformTables } from '../database/platform-tables.ts';
import { createTestDatabase, findTestPostgres, testDatabaseTargets } from '../database/test-databases.ts';
import { createEventFactory } from './event-factory.ts';
import { appendToOutbox, startOutboxRelay } from './outbox.ts';

const logger = pino({ level: 'silent' });
const events = createEventFactory('relay-test');
const event = (seq: number) =>
  events.create('OrderCreated', `order-${seq % 2}`, { customerId: `seq-${seq}`, items: [{ productId: 'p', quantity: 1, unitPrice: 1 }], total: 1, currency: 'USD' });
const seqOf = (m: BusMessage) => {
  const parsed = parseEvent(m.value);
  return parsed.type === 'OrderCreated' ? Number(parsed.data.customerId.slice(4)) : Number.NaN;
};

/** A broker that is down for the first `failures` publishes; the one after a failure may have stored part of its batch. */
function flakyBus(failures: number, partial: boolean): Bus & { stored: BusMessage[] } {
  const inner = createEmbeddedBus({ file: ':memory:' });
  const stored: BusMessage[] = [];
  let left = failures;
  return {
    kind: inner.kind,
    stored,
    ensureTopics: (topics) => inner.ensureTopics(topics),
    async publish(messages) {
      if (left-- > 0) {
        if (partial) stored.push(...messages.slice(0, 1)); // the broker had the first one when the connection broke
        throw new Error('broker unavailable');
      }
      stored.push(...messages);
    },
    subscribe: (options) => inner.subscribe(options),
    readAll: (topic) => inner.readAll(topic),
    isReady: () => inner.isReady(),
    close: () => inner.close(),
  };
}

const waitUntil = async (condition: () => Promise<boolean>, what: string, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
};

const postgres = await findTestPostgres();
const targets = await testDatabaseTargets('orderflow-relay-');

describe.each(targets)('the outbox relay on %s, when the broker fails', (_name, makeTarget) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const open = async (): Promise<ServiceDatabase<object>> => {
    const target = await makeTarget();
    cleanups.push(target.drop);
    const database = await openDatabase<object>({ service: 'relaytest', dataDir: target.dataDir, url: target.url, poolSize: 4 }, {});
    cleanups.push(() => database.close());
    return database;
  };

  it.each([
    ['nothing of the batch', false],
    ['part of the batch', true],
  ])('keeps every row until a publish succeeds (the broker had %s), then publishes each in order and empties the outbox', async (_what, partial) => {
    const database = await open();
    const db = database.db as unknown as Kysely<PlatformTables>;
    for (let seq = 1; seq <= 10; seq++) await db.transaction().execute((trx) => appendToOutbox(trx, [event(seq)]));
    const bus = flakyBus(2, partial);

    const relay = startOutboxRelay(db, bus, logger, { pollMs: 25, dialect: database.dialect });
    cleanups.push(() => relay.stop());
    await waitUntil(async () => (await db.selectFrom('outbox').select('id').execute()).length === 0, 'the outbox is empty');
    await relay.drain();

    // At least once: what the broker kept from a failed attempt comes again, in order after it.
    const seqs = bus.stored.map(seqOf);
    expect(seqs.slice(-10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(seqs.slice(0, -10)).toEqual(partial ? [1, 1] : []);
  });
});

describe.skipIf(!postgres.url)('the outbox relay on PostgreSQL, with transactions open elsewhere', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const serverUrl = postgres.url ?? '';
  async function newDatabase() {
    const database = await createTestDatabase(serverUrl);
    cleanups.push(database.drop);
    return database;
  }
  async function openService(url: string, service: string) {
    const database = await openDatabase<object>({ service, dataDir: ':memory:', url, poolSize: 4 }, {});
    cleanups.push(() => database.close());
    return { db: database.db as unknown as Kysely<PlatformTables>, dialect: database.dialect };
  }
  function relayOf(service: { db: Kysely<PlatformTables>; dialect: ServiceDatabase<object>['dialect'] }) {
    const bus = flakyBus(0, false);
    const relay = startOutboxRelay(service.db, bus, logger, { pollMs: 25, dialect: service.dialect });
    cleanups.push(async () => {
      await relay.stop();
      await bus.close();
    });
    return { bus, relay };
  }
  /** A transaction that has written and stays open until the returned function is called. */
  async function holdOpen(work: (trx: Kysely<PlatformTables>) => Promise<unknown>, db: Kysely<PlatformTables>) {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const done = db.transaction().execute(async (trx) => {
      await work(trx);
      written();
      await released;
    });
    cleanups.push(async () => {
      release();
      await done.catch(() => undefined);
    });
    await wrote;
    return async () => {
      release();
      await done;
    };
  }

  it("publishes one service's events while another service, and another database on the server, hold transactions open", async () => {
    const { url } = await newDatabase();
    const busy = await openService(url, 'busy');
    const quick = await openService(url, 'quick');
    // Another service of the same database, in the middle of a handler: written, outbox row appended, not committed.
    const endBusy = await holdOpen((trx) => appendToOutbox(trx, [event(1)]), busy.db);
    // A transaction with an id in another database on the same server (as another system's would be).
    const other = new pg.Client({ connectionString: (await newDatabase()).url });
    await other.connect();
    cleanups.push(() => other.end());
    await other.query('begin');
    await other.query('select pg_current_xact_id()');

    const { bus } = relayOf(quick);
    await quick.db.transaction().execute((trx) => appendToOutbox(trx, [event(2)]));
    // The relay polls every 25 ms; the old one held these rows back until both transactions above ended.
    await waitUntil(async () => bus.stored.length === 1, "the quick service's event is published", 3_000);
    expect(bus.stored.map(seqOf)).toEqual([2]);

    await other.query('commit');
    await endBusy();
    const busyRelay = relayOf(busy);
    await waitUntil(async () => busyRelay.bus.stored.length === 1, "the busy service's event is published once it commits");
  });

  it('publishes in commit order: a transaction that appends while an earlier one is open commits after it, and nothing is lost', async () => {
    const { url } = await newDatabase();
    const service = await openService(url, 'ordered');
    const { bus } = relayOf(service);
    const committed: number[] = [];

    const endFirst = await holdOpen((trx) => appendToOutbox(trx, [event(1)]), service.db);
    // The second transaction appends after the first did and tries to commit at once:
    // with ids from a sequence alone it would commit first, with the lower id still open.
    const second = service.db.transaction().execute(async (trx) => appendToOutbox(trx, [event(2)])).then(() => committed.push(2));
    await sleep(300);
    await endFirst();
    committed.push(1);
    await second;

    await waitUntil(async () => bus.stored.length === 2, 'both events are published');
    expect(bus.stored.map(seqOf)).toEqual(committed);
    expect(committed).toEqual([1, 2]);
  });
});
