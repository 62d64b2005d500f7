import { setTimeout as sleep } from 'node:timers/promises';
import { type ServiceDatabase, createEventFactory } from '@orderflow/platform';
import type { Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTestPostgres, openTestServiceDatabase } from '../../../packages/platform/src/database/test-databases.ts';
import { type InventoryDatabase, type InventoryTables, inventoryMigrations } from '../store/schema.ts';
import { releaseStock } from './release-stock.ts';

// PostgreSQL only: SQLite runs one write transaction at a time, so the race cannot happen there.
const { url: serverUrl } = await findTestPostgres();

describe.skipIf(!serverUrl)('releasing stock on PostgreSQL', () => {
  let database: ServiceDatabase<InventoryTables>;
  beforeAll(async () => {
    database = await openTestServiceDatabase<InventoryTables>(serverUrl ?? '', { service: 'inventory', poolSize: 4 }, inventoryMigrations);
  });
  afterAll(() => database?.close());

  it('given PaymentFailed and OrderCancelled handled at the same time, when both see the reservation live, then the stock comes back once', async () => {
    const now = new Date().toISOString();
    const db = database.db;
    await db.insertInto('products').values({ product_id: 'p', name: 'P', unit_price: 100, currency: 'USD', available: 7, updated_at: now }).execute();
    await db.insertInto('reservations').values({ order_id: 'o-1', status: 'RESERVED', created_at: now, updated_at: now }).execute();
    await db.insertInto('reservation_lines').values({ order_id: 'o-1', product_id: 'p', quantity: 3 }).execute();
    const events = createEventFactory('test');
    const release = releaseStock({ events: createEventFactory('inventory'), now: () => now });

    // The first handler has released but not committed when the second one reads.
    let firstDone!: () => void;
    const firstHandled = new Promise<void>((resolve) => (firstDone = resolve));
    let commitFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (commitFirst = resolve));
    const first = db.transaction().execute(async (trx) => {
      const out = await release(events.create('PaymentFailed', 'o-1', { reason: 'DECLINED', amount: 300, currency: 'USD' }), trx as Transaction<InventoryDatabase>);
      firstDone();
      await firstMayCommit;
      return out;
    });
    await firstHandled;
    const second = db.transaction().execute((trx) =>
      release(events.create('OrderCancelled', 'o-1', { status: 'PAYMENT_FAILED', reason: 'DECLINED' }), trx as Transaction<InventoryDatabase>),
    );
    await sleep(200); // the second now waits on the reservation's row lock
    commitFirst();

    const outcomes = await Promise.all([first, second]);
    expect(outcomes.map((o) => o.map((e) => e.type))).toEqual([['InventoryReleased'], []]);
    expect((await db.selectFrom('products').select('available').where('product_id', '=', 'p').executeTakeFirstOrThrow()).available).toBe(10);
  });
});
