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
    /** An operator decided it needs no handling (see 0000_platform_retention). */
    discarded_at: Generated<string | null>;
    /** The event's id, when the record was an event: its inbox row is kept while this dead letter is unresolved. */
    message_id: Generated<string | null>;
  };
  settings: {
    name: string;
    value: string;
  };
}

/** First key of the advisory lock that orders a service's outbox inserts (see 0000_platform_outbox_commit_order). */
const OUTBOX_COMMIT_ORDER_LOCK_CLASS = 0x6f72_6463; // 'ordc'

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
      // Superseded by 0000_platform_outbox_commit_order, which drops txid and its index;
      // kept as it ran, since databases made before it have this history.
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
  /**
   * PostgreSQL: outbox ids in commit order, per service. A sequence hands out ids at
   * insert time, not at commit, so a transaction holding id 5 can commit after the one
   * holding id 6; a relay reading in id order would then publish 6 before 5, or, if it
   * kept a cursor, skip 5. The first relay waited for every transaction on the server
   * older than a row (`pg_snapshot_xmin`), so one open transaction anywhere (another
   * service, another database) held back every service's publishing.
   *
   * Instead, a statement-level trigger takes a transaction-scoped advisory lock keyed by
   * this outbox table before the insert draws its ids; the lock is released only when the
   * transaction ends, after it became visible. So, per service (table), ids are drawn in
   * commit order and whatever a relay sees is a prefix of that order: it publishes by id
   * and waits for no one. Another service's or another database's transactions never
   * take this lock (advisory locks are per database; the key is this table's oid).
   *
   * The trade-off: a service's transactions are serialised from their outbox insert to
   * their commit, so that insert must be the last statement (as the consumer and the
   * HTTP handlers do it); a statement after it that waits for another lock can deadlock
   * (PostgreSQL then aborts one and it is retried). Commits of one service no longer
   * share a WAL flush: on the 2-core test machine, trivial transactions of one service
   * from 8 connections went from about 6,000 to 2,000 a second; transactions that emit
   * nothing insert no row and take no lock. Alternatives: logical decoding reads
   * rows in true commit order without any lock, but needs wal_level=logical and a
   * replication slot per service that retains WAL while its relay is down; commit
   * timestamps (track_commit_timestamp) are not unique and need a server setting; a
   * counter row updated per commit serialises the same way but leaves a dead row version
   * per transaction. A trigger keeps the rule in the table itself: every writer obeys
   * it, and the services' queries are the same on both databases (SQLite runs one
   * writer at a time, so its ids are already in commit order).
   */
  '0000_platform_outbox_commit_order': async (db: Kysely<unknown>, dialect) => {
    if (dialect === 'sqlite') return;
    await db.schema.dropIndex('outbox_publish_order').ifExists().execute();
    await db.schema.alterTable('outbox').dropColumn('txid').execute();
    await sql`
      create function outbox_commit_order() returns trigger language plpgsql as $$
      begin
        perform pg_advisory_xact_lock(${sql.lit(OUTBOX_COMMIT_ORDER_LOCK_CLASS)}, tg_relid::int4);
        return null;
      end $$`.execute(db);
    await sql`create trigger outbox_commit_order before insert on outbox for each statement execute function outbox_commit_order()`.execute(db);
  },
  /**
   * Retention (README "Retention"): inbox rows expire by processed_at, so an index serves
   * the sweep's range; a dead letter records its event's id (the sweep keeps that event's
   * inbox row while the dead letter is unresolved, see sweepExpired) and when an operator
   * discarded it. Rows dead-lettered before this migration have no id: their events'
   * inbox rows expire with the rest.
   */
  '0000_platform_retention': async (db: Kysely<unknown>) => {
    await db.schema.createIndex('inbox_processed_at').on('inbox').column('processed_at').execute();
    await db.schema.alterTable('dead_letters').addColumn('discarded_at', 'text').execute();
    await db.schema.alterTable('dead_letters').addColumn('message_id', 'text').execute();
    await db.schema.createIndex('dead_letters_message').on('dead_letters').columns(['consumer_group', 'message_id']).execute();
  },
};
