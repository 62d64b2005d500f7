import type { PlatformTables, ServiceMigration } from '@orderflow/platform';

export interface PaymentTables {
  payments: {
    order_id: string;
    payment_id: string;
    customer_id: string;
    amount: number;
    currency: string;
    status: string;
    reason: string | null;
    created_at: string;
    updated_at: string;
  };
}
export type PaymentDatabase = PaymentTables & PlatformTables;

export const paymentMigrations: Record<string, ServiceMigration> = {
  '0001_payments': async (db) => {
    await db.schema
      .createTable('payments')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('payment_id', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
};
