import { type InventoryLevelView, type OrderStatus, type OrderView, type OrderflowEvent, type OrderflowMessage, isEvent } from '@orderflow/contracts';
import { type Kysely, type Transaction, sql } from 'kysely';
import { type StockLevels, changesStock, evolveInventory, inventoryList } from '../domain/inventory-levels.ts';
import { evolveOrderView } from '../domain/order-projection.ts';
import { type OrderStats, type StatsTally, firstStatsMinute, statsFrom, tallyChanges } from '../domain/order-stats.ts';
import type { StatusDatabase } from './schema.ts';

export interface OrderChange {
  before: OrderView | undefined;
  after: OrderView;
}

/** Where a page of the listing ends: the last order's sort time and id (the keyset). */
export interface PageCursor {
  sortMs: number;
  orderId: string;
}

export interface PageQuery {
  limit: number;
  status?: OrderStatus | undefined;
  customerId?: string | undefined;
  before?: PageCursor | undefined;
}

export interface OrderPage {
  items: OrderView[];
  /** Where the next (older) page starts; null on the last page. */
  nextCursor: PageCursor | null;
}

/** The listing order: creation time, or the latest event time while OrderCreated is not seen yet. */
export const sortMsOf = (view: OrderView): number => Date.parse(view.createdAt ?? view.updatedAt ?? '') || 0;

type Db = Kysely<StatusDatabase>;
type Trx = Transaction<StatusDatabase>;

// Rows per multi-row statement: far below the parameter limits of both databases.
const CHUNK = 500;
const chunks = <T>(items: readonly T[]): T[][] => Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, i) => items.slice(i * CHUNK, (i + 1) * CHUNK));

/** The generation queries read: the active one, looked up in the same statement (no second round trip). */
const activeGeneration = (db: Db | Trx) =>
  db.selectFrom('projection_generations').select('generation').where('role', '=', 'active');

/** A stored view, as the JSON text the projection wrote, with the owner an access check needs. */
export interface StoredView {
  /** Null while the order's OrderCreated has not been seen. */
  customerId: string | null;
  json: string;
}

/** Reads of the active generation. Each is one statement served by a primary key or an index. */
export function createReadModelQueries(db: Db) {
  async function storedOrder(orderId: string): Promise<StoredView | undefined> {
    const row = await db
      .selectFrom('order_views')
      .select(['view', 'customer_id'])
      .where('generation', '=', activeGeneration(db))
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    return row ? { customerId: row.customer_id, json: row.view } : undefined;
  }

  /** Newest first; one more row than asked for tells whether there is a next page. */
  async function storedPage(query: PageQuery): Promise<{ items: string[]; nextCursor: PageCursor | null }> {
    let select = db.selectFrom('order_views').select(['view', 'sort_ms', 'order_id']).where('generation', '=', activeGeneration(db));
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.customerId !== undefined) select = select.where('customer_id', '=', query.customerId);
    const before = query.before;
    if (before) select = select.where((eb) => eb(eb.refTuple('sort_ms', 'order_id'), '<', eb.tuple(before.sortMs, before.orderId)));
    const rows = await select.orderBy('sort_ms', 'desc').orderBy('order_id', 'desc').limit(query.limit + 1).execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => row.view),
      nextCursor: rows.length > query.limit && last ? { sortMs: Number(last.sort_ms), orderId: last.order_id } : null,
    };
  }

  return {
    storedOrder,
    storedPage,

    async order(orderId: string): Promise<OrderView | undefined> {
      const stored = await storedOrder(orderId);
      return stored ? parseView(stored.json) : undefined;
    },

    async page(query: PageQuery): Promise<OrderPage> {
      const stored = await storedPage(query);
      return { items: stored.items.map(parseView), nextCursor: stored.nextCursor };
    },

    async stats(now: Date): Promise<OrderStats> {
      const generation = activeGeneration(db);
      const [counts, minutes, revenue] = await Promise.all([
        db.selectFrom('order_counts').select(['status', 'count']).where('generation', '=', generation).execute(),
        db
          .selectFrom('orders_per_minute')
          .select(['minute_ms', 'count'])
          .where('generation', '=', generation)
          .where('minute_ms', '>=', firstStatsMinute(now))
          .execute(),
        db.selectFrom('revenue').select(['currency', 'amount']).where('generation', '=', generation).execute(),
      ]);
      const tally: StatsTally = {
        countsByStatus: new Map(counts.map((r) => [r.status as OrderStatus, Number(r.count)])),
        ordersByMinute: new Map(minutes.map((r) => [Number(r.minute_ms), Number(r.count)])),
        revenue: new Map(revenue.map((r) => [r.currency, Number(r.amount)])),
      };
      return statsFrom(tally, now);
    },

    async inventory(): Promise<InventoryLevelView[]> {
      const rows = await db.selectFrom('stock_levels').selectAll().where('generation', '=', activeGeneration(db)).orderBy('product_id').execute();
      return inventoryList(levelsOf(rows));
    },
  };
}
export type ReadModelQueries = ReturnType<typeof createReadModelQueries>;

// The view column holds what evolveOrderView made: written by this module only.
const parseView = (json: string): OrderView => JSON.parse(json) as OrderView;

const levelsOf = (rows: readonly StatusDatabase['stock_levels'][]): Map<string, InventoryLevelView> =>
  new Map(
    rows.map((r) => [r.product_id, { productId: r.product_id, name: r.name, unitPrice: Number(r.unit_price), currency: r.currency, available: Number(r.available) }]),
  );

/**
 * An order's view keeps the id of every event applied to it (its timeline), so the
 * projection drops a repeated order event by itself and such events need no inbox row.
 * Restocks belong to no order: the inbox drops their repeats.
 */
export const recognisesRepeats = (event: OrderflowMessage): boolean => isEvent(event) && event.orderId !== null;

/**
 * Projects a batch of events into a generation, in the caller's transaction: one read of
 * the order views and stock levels they touch, evolve in memory with the domain's deciders,
 * then one multi-row upsert per table. An order event its view has already applied
 * (a redelivery: see recognisesRepeats) changes nothing, its stock change included.
 * Returns the orders whose view changed, for the live listeners once the transaction
 * commits, and the positions of the repeated events.
 */
export async function projectBatch(trx: Trx, generation: number, messages: readonly OrderflowMessage[]): Promise<{ changes: OrderChange[]; repeats: Set<number> }> {
  const events = messages.filter(isEvent);
  const orderIds = [...new Set(events.flatMap((e) => (e.orderId === null ? [] : [e.orderId])))];
  const stored = new Map<string, OrderView>();
  for (const ids of chunks(orderIds)) {
    const rows = await trx.selectFrom('order_views').select('view').where('generation', '=', generation).where('order_id', 'in', ids).execute();
    for (const row of rows) {
      const view = parseView(row.view);
      stored.set(view.orderId, view);
    }
  }
  const current = new Map(stored);
  const stockEvents = events.filter(changesStock);
  let levels: StockLevels = stockEvents.length > 0 ? await readLevels(trx, generation, stockEvents) : new Map();
  const levelsBefore = levels;
  const repeats = new Set<number>();
  for (const [position, event] of messages.entries()) {
    if (!isEvent(event)) continue; // commands: not this read model's
    if (event.orderId !== null) {
      const before = current.get(event.orderId);
      const after = evolveOrderView(before, event);
      // The same view back: its timeline holds this event already.
      if (!after || after === before) {
        repeats.add(position);
        continue;
      }
      current.set(after.orderId, after);
    }
    if (changesStock(event)) levels = evolveInventory(levels, event);
  }
  const changes: OrderChange[] = [];
  for (const [orderId, after] of current) if (stored.get(orderId) !== after) changes.push({ before: stored.get(orderId), after });

  await upsertViews(trx, generation, changes);
  await addTally(trx, generation, tallyChanges(changes.map((c) => [c.before, c.after] as const)));
  await upsertLevels(trx, generation, [...levels.values()].filter((level) => levelsBefore.get(level.productId) !== level));
  await trx
    .updateTable('projection_generations')
    .set((eb) => ({ events_projected: eb('events_projected', '+', events.length - repeats.size) }))
    .where('generation', '=', generation)
    .execute();
  return { changes, repeats };
}

/** The products whose stock level these events change. */
function productsChanged(events: readonly OrderflowEvent[]): Set<string> {
  const productIds = new Set<string>();
  for (const event of events) {
    if (event.type === 'InventoryRestocked') productIds.add(event.data.productId);
    if (event.type === 'InventoryConfirmed' || event.type === 'InventoryReleased') for (const line of event.data.items) productIds.add(line.productId);
  }
  return productIds;
}

/**
 * The rows projectBatch reads and writes back for these messages, as lock keys (see
 * ConsumeOptions.lockKeys): each order's view and each changed product's stock level, in
 * the generation. The tallies need none: their upserts add in SQL (see addTally).
 */
export function rowKeysOf(generation: number, messages: readonly OrderflowMessage[]): string[] {
  const events = messages.filter(isEvent);
  const keys = new Set<string>();
  for (const event of events) if (event.orderId !== null) keys.add(`order_views:${generation}:${event.orderId}`);
  for (const productId of productsChanged(events.filter(changesStock))) keys.add(`stock_levels:${generation}:${productId}`);
  return [...keys];
}

async function readLevels(trx: Trx, generation: number, events: readonly OrderflowEvent[]): Promise<StockLevels> {
  const productIds = [...productsChanged(events)];
  const rows = await trx.selectFrom('stock_levels').selectAll().where('generation', '=', generation).where('product_id', 'in', productIds).execute();
  return levelsOf(rows);
}

/** The indexed columns of a view's row; the view column itself is in no index. */
const indexedColumns = (view: OrderView) => ({ customer_id: view.customerId, status: view.status, sort_ms: sortMsOf(view) });
type IndexedColumn = keyof ReturnType<typeof indexedColumns>;

/**
 * Writes the changed views, one multi-row upsert per set of indexed columns that changed.
 * SQLite rewrites an index's entry for every column an UPDATE sets, even to the value it
 * had (measured: an upsert setting all four columns cost 6 times the CPU of one setting the
 * view alone), and most events change neither the customer nor the sort time, and many not
 * the status. PostgreSQL makes the same choice by value (a HOT update), so it loses nothing.
 */
async function upsertViews(trx: Trx, generation: number, changes: readonly OrderChange[]) {
  const groups = new Map<string, { columns: IndexedColumn[]; changes: OrderChange[] }>();
  for (const change of changes) {
    const after = indexedColumns(change.after);
    const before = change.before ? indexedColumns(change.before) : undefined;
    // A new row sets them all (the upsert's update part then only meets a row written meanwhile).
    const columns = (Object.keys(after) as IndexedColumn[]).filter((column) => !before || before[column] !== after[column]);
    const key = columns.join();
    const group = groups.get(key) ?? { columns, changes: [] };
    group.changes.push(change);
    groups.set(key, group);
  }
  for (const { columns, changes: grouped } of groups.values()) {
    for (const part of chunks(grouped)) {
      await trx
        .insertInto('order_views')
        .values(part.map(({ after }) => ({ generation, order_id: after.orderId, ...indexedColumns(after), view: JSON.stringify(after) })))
        .onConflict((oc) =>
          oc.columns(['generation', 'order_id']).doUpdateSet((eb) => ({
            view: eb.ref('excluded.view'),
            ...Object.fromEntries(columns.map((column) => [column, eb.ref(`excluded.${column}`)])),
          })),
        )
        .execute();
    }
  }
}

/** A tally's entries by key: numbers by value, strings in code-unit order (the same in every process, unlike localeCompare). */
const inKeyOrder = <K extends string | number, V>(map: ReadonlyMap<K, V>): [K, V][] => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Adds the tally to the sums: the upsert adds to what is there, so nothing needs reading or
 * locking first. Rows go in key order: two batches at once on PostgreSQL that add to the
 * same rows (a status's count, a minute, a currency) then lock them in the same order and
 * cannot deadlock.
 */
async function addTally(trx: Trx, generation: number, tally: StatsTally) {
  if (tally.countsByStatus.size > 0) {
    await trx
      .insertInto('order_counts')
      .values(inKeyOrder(tally.countsByStatus).map(([status, count]) => ({ generation, status, count })))
      .onConflict((oc) => oc.columns(['generation', 'status']).doUpdateSet({ count: sql`order_counts.count + excluded.count` }))
      .execute();
  }
  if (tally.ordersByMinute.size > 0) {
    await trx
      .insertInto('orders_per_minute')
      .values(inKeyOrder(tally.ordersByMinute).map(([minute_ms, count]) => ({ generation, minute_ms, count })))
      .onConflict((oc) => oc.columns(['generation', 'minute_ms']).doUpdateSet({ count: sql`orders_per_minute.count + excluded.count` }))
      .execute();
  }
  if (tally.revenue.size > 0) {
    await trx
      .insertInto('revenue')
      .values(inKeyOrder(tally.revenue).map(([currency, amount]) => ({ generation, currency, amount })))
      .onConflict((oc) => oc.columns(['generation', 'currency']).doUpdateSet({ amount: sql`revenue.amount + excluded.amount` }))
      .execute();
  }
}

async function upsertLevels(trx: Trx, generation: number, levels: readonly InventoryLevelView[]) {
  if (levels.length === 0) return;
  await trx
    .insertInto('stock_levels')
    .values(levels.map((l) => ({ generation, product_id: l.productId, name: l.name, unit_price: l.unitPrice, currency: l.currency, available: l.available })))
    .onConflict((oc) =>
      oc.columns(['generation', 'product_id']).doUpdateSet((eb) => ({
        name: eb.ref('excluded.name'),
        unit_price: eb.ref('excluded.unit_price'),
        currency: eb.ref('excluded.currency'),
        available: eb.ref('excluded.available'),
      })),
    )
    .execute();
}
