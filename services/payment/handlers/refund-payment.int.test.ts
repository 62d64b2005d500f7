import { setTimeout as sleep } from 'node:timers/promises';
import { type ServiceDatabase, createEventFactory } from '@orderflow/platform';
import type { Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTestPostgres, openTestServiceDatabase } from '../../../packages/platform/src/database/test-databases.ts';
import { type PaymentDatabase, type PaymentTables, paymentMigrations } from '../store/schema.ts';
import { refundPayment } from './payment-handlers.ts';

// PostgreSQL only: SQLite runs one write transaction at a time, so the race cannot happen there.
const { url: serverUrl } = await findTestPostgres();

describe.skipIf(!serverUrl)('refunding on PostgreSQL', () => {
  let database: ServiceDatabase<PaymentTables>;
  beforeAll(async () => {
    database = await openTestServiceDatabase<PaymentTables>(serverUrl ?? '', { service: 'payment', poolSize: 4 }, paymentMigrations);
  });
  afterAll(() => database?.close());

  it('given ShipmentFailed and OrderCancelled handled at the same time, when both see the charge, then it is refunded once', async () => {
    const now = new Date().toISOString();
    const db = database.db;
    await db
      .insertInto('payments')
      .values({ order_id: 'o-1', payment_id: 'pay-1', customer_id: 'c', amount: 300, currency: 'USD', status: 'COMPLETED', reason: null, created_at: now, updated_at: now })
      .execute();
    const events = createEventFactory('test');
    const refund = refundPayment({ events: createEventFactory('payment'), now: () => now, newId: () => 'id', failureRate: () => 0, random: () => 1 });

    // The first handler has refunded but not committed when the second one reads.
    let firstDone!: () => void;
    const firstHandled = new Promise<void>((resolve) => (firstDone = resolve));
    let commitFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (commitFirst = resolve));
    const first = db.transaction().execute(async (trx) => {
      const out = await refund(events.create('ShipmentFailed', 'o-1', { reason: 'CARRIER_UNAVAILABLE' }), trx as Transaction<PaymentDatabase>);
      firstDone();
      await firstMayCommit;
      return out;
    });
    await firstHandled;
    const second = db.transaction().execute((trx) =>
      refund(events.create('OrderCancelled', 'o-1', { status: 'SHIPMENT_FAILED', reason: 'CARRIER_UNAVAILABLE' }), trx as Transaction<PaymentDatabase>),
    );
    await sleep(200); // the second now waits on the payment's row lock
    commitFirst();

    const outcomes = await Promise.all([first, second]);
    expect(outcomes.map((o) => o.map((e) => e.type))).toEqual([['PaymentRefunded'], []]);
    expect(await db.selectFrom('payments').select(['status', 'reason']).where('order_id', '=', 'o-1').executeTakeFirstOrThrow()).toEqual({ status: 'REFUNDED', reason: 'SHIPMENT_FAILED' });
  });
});
