import { type Generated, type Kysely, sql } from 'kysely';
import { type ServiceMigration, withIdColumn } from './schema-builders.ts';

/** Tables every service has: the outbox, the inbox and its dead letters. */
export interface PlatformTables {
  outbox: {
    id: Generated<number>;
    topic: string;
    key: string;
    value: string;
    headers: string;
  };
  inbox: {
    consumer_group: string;
    message_id: string;
    processed_at: string;
  };
  dead_letters: {
    id: Generated<number>;
    consumer_group: string;
    topic: string;
    partition: number;
    offset: string;
    key: string;
    value: string;
    headers: string;
    error: string;
    attempts: number;
    failed_at: string;
    replayed_at: string | null;
  };
  settings: {
    name: string;
    value: string;
  };
}

export const platformMigrations: Record<string, ServiceMigration> = {
  '0000_platform': async (db: Kysely<unknown>, dialect) => {
    const outbox = withIdColumn(db.schema.createTable('outbox'), dialect)
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('headers', 'text', (c) => c.notNull());
    if (dialect === 'sqlite') {
      await outbox.execute();
    } else {
      // The writing transaction's id: the PostgreSQL relay publishes in (txid, id) order
      // and only rows of transactions older than every open one (see outbox.ts).
      await outbox.addColumn('txid', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`)).execute();
      await db.schema.createIndex('outbox_publish_order').on('outbox').columns(['txid', 'id']).execute();
    }
    await db.schema
      .createTable('inbox')
      .addColumn('consumer_group', 'text', (c) => c.notNull())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('processed_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('inbox_pk', ['consumer_group', 'message_id'])
      .execute();
    await withIdColumn(db.schema.createTable('dead_letters'), dialect)
      .addColumn('consumer_group', 'text', (c) => c.notNull())
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('partition', 'integer', (c) => c.notNull())
      .addColumn('offset', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('headers', 'text', (c) => c.notNull())
      .addColumn('error', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('failed_at', 'text', (c) => c.notNull())
      .addColumn('replayed_at', 'text')
      .addUniqueConstraint('dead_letters_record', ['consumer_group', 'topic', 'partition', 'offset'])
      .execute();
    await db.schema
      .createTable('settings')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },
};
