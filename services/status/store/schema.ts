import type { PlatformTables, ServiceMigration } from '@orderflow/platform';

/**
 * The read model's tables. Every row belongs to a generation: a rebuild projects the log
 * into a new one while the active one keeps serving, and one transaction switches them.
 */
export interface StatusTables {
  /** One row per generation; the one with role 'active' serves queries. */
  projection_generations: {
    generation: number;
    role: GenerationRole;
    /** The consumer group projecting it: its inbox rows and broker position are its own. */
    consumer_group: string;
    events_projected: number;
    started_at: string;
    finished_at: string | null;
    error: string | null;
  };
  order_views: {
    generation: number;
    order_id: string;
    customer_id: string | null;
    status: string;
    /** Creation time (or the latest event time until OrderCreated is read), epoch ms: the listing order. */
    sort_ms: number;
    /** The OrderView as JSON: read and written whole, by primary key. */
    view: string;
  };
  order_counts: { generation: number; status: string; count: number };
  orders_per_minute: { generation: number; minute_ms: number; count: number };
  revenue: { generation: number; currency: string; amount: number };
  stock_levels: { generation: number; product_id: string; name: string; unit_price: number; currency: string; available: number };
}

/** active: serves; rebuilding: being projected; done: a rebuild that took over (now retired); failed: a rebuild that stopped. */
export type GenerationRole = 'active' | 'rebuilding' | 'retired' | 'failed';

export type StatusDatabase = StatusTables & PlatformTables;

export const statusMigrations: Record<string, ServiceMigration> = {
  '0001_status_read_model': async (db) => {
    await db.schema
      .createTable('projection_generations')
      .addColumn('generation', 'integer', (c) => c.primaryKey())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('consumer_group', 'text', (c) => c.notNull())
      .addColumn('events_projected', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('error', 'text')
      .execute();
    await db.schema
      .createTable('order_views')
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('sort_ms', 'bigint', (c) => c.notNull())
      .addColumn('view', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('order_views_pk', ['generation', 'order_id'])
      .execute();
    // One per listing: newest first, by status, by customer; the order id breaks ties (the keyset).
    await db.schema.createIndex('order_views_newest').on('order_views').columns(['generation', 'sort_ms', 'order_id']).execute();
    await db.schema.createIndex('order_views_status').on('order_views').columns(['generation', 'status', 'sort_ms', 'order_id']).execute();
    await db.schema.createIndex('order_views_customer').on('order_views').columns(['generation', 'customer_id', 'sort_ms', 'order_id']).execute();
    await db.schema
      .createTable('order_counts')
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('count', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('order_counts_pk', ['generation', 'status'])
      .execute();
    await db.schema
      .createTable('orders_per_minute')
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('minute_ms', 'bigint', (c) => c.notNull())
      .addColumn('count', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('orders_per_minute_pk', ['generation', 'minute_ms'])
      .execute();
    await db.schema
      .createTable('revenue')
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('revenue_pk', ['generation', 'currency'])
      .execute();
    await db.schema
      .createTable('stock_levels')
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('unit_price', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('available', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('stock_levels_pk', ['generation', 'product_id'])
      .execute();
  },
};
