import type { PlatformTables, ServiceMigration } from '@orderflow/platform';

export interface ShippingTables {
  shipments: {
    order_id: string;
    shipment_id: string;
    status: string;
    tracking_number: string | null;
    carrier: string | null;
    reason: string | null;
    created_at: string;
    updated_at: string;
  };
}
export type ShippingDatabase = ShippingTables & PlatformTables;

export const shippingMigrations: Record<string, ServiceMigration> = {
  '0001_shipments': async (db) => {
    await db.schema
      .createTable('shipments')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('shipment_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('tracking_number', 'text')
      .addColumn('carrier', 'text')
      .addColumn('reason', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
};
