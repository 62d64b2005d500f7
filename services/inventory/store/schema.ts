import type { PlatformTables, ServiceMigration } from '@orderflow/platform';
import { sql } from 'kysely';

/** The database itself refuses negative stock: a last line of defence against overselling. */
const sqlNonNegative = sql`available >= 0`;

export interface InventoryTables {
  products: {
    product_id: string;
    name: string;
    unit_price: number;
    currency: string;
    available: number;
    updated_at: string;
  };
  reservations: {
    order_id: string;
    status: string;
    created_at: string;
    updated_at: string;
  };
  reservation_lines: {
    order_id: string;
    product_id: string;
    quantity: number;
  };
}
export type InventoryDatabase = InventoryTables & PlatformTables;

export const inventoryMigrations: Record<string, ServiceMigration> = {
  '0001_inventory': async (db) => {
    await db.schema
      .createTable('products')
      .addColumn('product_id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('unit_price', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('available', 'integer', (c) => c.notNull().check(sqlNonNegative))
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('reservations')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('reservation_lines')
      .addColumn('order_id', 'text', (c) => c.notNull().references('reservations.order_id'))
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('reservation_lines_pk', ['order_id', 'product_id'])
      .execute();
  },
};
