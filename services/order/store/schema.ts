import type { PlatformTables, ServiceMigration } from '@orderflow/platform';

export interface OrderTables {
  orders: {
    order_id: string;
    customer_id: string;
    status: string;
    currency: string;
    total: number;
    tracking_number: string | null;
    carrier: string | null;
    failure_reason: string | null;
    created_at: string;
    updated_at: string;
  };
  order_items: {
    order_id: string;
    line_no: number;
    product_id: string;
    quantity: number;
    unit_price: number;
  };
  idempotency_keys: {
    key: string;
    request_hash: string;
    order_id: string;
    created_at: string;
  };
}

/** The order service's tables and the platform's (outbox, inbox) in one database. */
export type OrderDatabase = OrderTables & PlatformTables;

export const orderMigrations: Record<string, ServiceMigration> = {
  '0001_orders': async (db) => {
    await db.schema
      .createTable('orders')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('total', 'bigint', (c) => c.notNull())
      .addColumn('tracking_number', 'text')
      .addColumn('carrier', 'text')
      .addColumn('failure_reason', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('orders_status_created').on('orders').columns(['status', 'created_at']).execute();
    await db.schema.createIndex('orders_created').on('orders').column('created_at').execute();
    await db.schema
      .createTable('order_items')
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.order_id'))
      .addColumn('line_no', 'integer', (c) => c.notNull())
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .addColumn('unit_price', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('order_items_pk', ['order_id', 'line_no'])
      .execute();
    await db.schema
      .createTable('idempotency_keys')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
};
