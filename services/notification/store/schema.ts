import type { PlatformTables, ServiceMigration } from '@orderflow/platform';

export interface NotificationTables {
  notifications: {
    notification_id: string;
    order_id: string;
    template: string;
    channel: string;
    recipient: string;
    subject: string;
    body: string;
    sent_at: string;
  };
}
export type NotificationDatabase = NotificationTables & PlatformTables;

export const notificationMigrations: Record<string, ServiceMigration> = {
  '0001_notifications': async (db) => {
    await db.schema
      .createTable('notifications')
      .addColumn('notification_id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('template', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('recipient', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'text', (c) => c.notNull())
      // One confirmation per order, whatever the broker redelivers.
      .addUniqueConstraint('notifications_order_template', ['order_id', 'template'])
      .execute();
  },
};
