import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderflowMessage } from '@orderflow/contracts';
import { type Kysely, type QueryCreator, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.ts';
import type { PlatformTables } from '../database/platform-tables.ts';
import type { Dialect } from '../database/schema-builders.ts';
import { toBusMessage } from './event-factory.ts';

/** An outbox row: a message as the relay will publish it. */
export type OutboxRow = { topic: string; key: string; value: string; headers: string };

/** The outbox rows of events caused by a record (or request) carrying `parentTraceparent`. */
export function outboxRowsOf(events: readonly OrderflowMessage[], parentTraceparent?: string): OutboxRow[] {
  return events.map((event) => {
    const message = toBusMessage(event, parentTraceparent);
    return { topic: message.topic, key: message.key, value: message.value, headers: JSON.stringify(message.headers) };
  });
}

/**
 * Writes rows to the outbox inside the caller's transaction, in one statement: they commit
 * with the state. Make it the transaction's last statement: on PostgreSQL the insert takes
 * the service's commit-order lock, held until the commit (see 0000_platform_outbox_commit_order),
 * so a batch collects every record's rows and inserts them here once, at its end.
 */
export async function insertOutboxRows(
  // Any service's transaction: every service schema includes PlatformTables, but
  // Kysely's database type is invariant, so it is taken untyped and narrowed here.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  trx: Kysely<any>,
  rows: readonly OutboxRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await (trx as unknown as QueryCreator<PlatformTables>).insertInto('outbox').values([...rows]).execute();
}

/** Writes events to the outbox inside the caller's transaction (see insertOutboxRows: last statement). */
export async function appendToOutbox(
  // biome-ignore lint/suspicious/noExplicitAny: see insertOutboxRows
  trx: Kysely<any>,
  events: readonly OrderflowMessage[],
  parentTraceparent?: string,
): Promise<void> {
  await insertOutboxRows(trx, outboxRowsOf(events, parentTraceparent));
}

export interface OutboxRelay {
  /** Publish what is in the outbox now (called right after a commit). */
  wake(): void;
  /** Resolves when the outbox is empty or the relay is stopped. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

export interface OutboxRelayOptions {
  pollMs?: number;
  onPublished?: (count: number) => void;
  /** The database's dialect: on 'postgres' several replicas may share the outbox. Default 'sqlite'. */
  dialect?: Dialect;
}

const BATCH = 500;
/** First key of the relay's advisory lock; the second is a hash of the service's schema. */
const RELAY_LOCK_CLASS = 0x6f72_6466; // 'ordf'
/** After another replica held the lock: retry soon, a few times, then leave it to the timer. */
const SOON_MS = 20;
const SOON_TIMES = 25;

/** What one round of publishing found. */
type Round = 'empty' | 'more' | 'busy';

type StoredOutboxRow = OutboxRow & { id: number };

/**
 * Publishes outbox rows in commit order (id order, see publishRoundPostgres), then deletes them. Woken right after each commit,
 * so the happy path has no polling delay; a timer also retries what a failed publish
 * (broker down) or a crash left behind. A row is deleted only after the broker has it,
 * so delivery is at least once: a crash between publish and delete publishes the row
 * again, and consumers drop the duplicate by event id.
 *
 * SQLite: the database file belongs to one process and its writes are serialised, so
 * id order is commit order and one relay reads and deletes without locks. PostgreSQL:
 * see publishRoundPostgres.
 */
export function startOutboxRelay(db: Kysely<PlatformTables>, bus: Bus, logger: Logger, options: OutboxRelayOptions = {}): OutboxRelay {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let failures = 0;

  async function publish(rows: readonly StoredOutboxRow[]): Promise<void> {
    await bus.publish(
      rows.map((r) => ({ topic: r.topic, key: r.key, value: r.value, headers: JSON.parse(r.headers) as Record<string, string> })),
    );
  }

  async function publishPending(): Promise<Round> {
    for (;;) {
      const rows = await db.selectFrom('outbox').selectAll().orderBy('id').limit(BATCH).execute();
      if (rows.length === 0) return 'empty';
      await publish(rows);
      await db
        .deleteFrom('outbox')
        .where('id', 'in', rows.map((r) => r.id))
        .execute();
      options.onPublished?.(rows.length);
      if (rows.length < BATCH) return 'empty';
    }
  }

  /**
   * Several replicas of a service share one outbox on PostgreSQL. Each round runs in a
   * transaction that first tries a transaction-scoped advisory lock keyed by the
   * service's schema: the replica that gets it publishes and deletes, the others skip
   * the round (the lock is released by the commit, or by the server if the replica dies).
   * Trade-off: one publisher per service at a time, so no parallel publishing, but a
   * strict order and no row published twice by two live relays. `FOR UPDATE SKIP LOCKED`
   * would let replicas publish in parallel, but then a later row can overtake an earlier
   * one of the same order whose batch is locked by another replica.
   *
   * Ids are in commit order per service (the outbox's insert trigger, see
   * 0000_platform_outbox_commit_order), so the rows a statement sees are a prefix of that
   * order: publishing by id never puts a row before one that committed earlier, and a
   * row committed later has a higher id. No round waits for any other transaction.
   */
  async function publishRoundPostgres(): Promise<{ round: Round; published: number }> {
    return db.transaction().execute(async (trx) => {
      // One statement takes the lock, picks the batch and deletes it; the rows are
      // published while the transaction (and the lock) is still open, and a failed
      // publish rolls the deletion back. Three round trips a round (begin, this, commit)
      // instead of five: on a small machine each statement's system calls are what cost.
      // The statement's snapshot predates the lock: rows another replica published and
      // deleted meanwhile are skipped by the DELETE (it returns only what it removed).
      const { rows } = await sql<StoredOutboxRow & { acquired: boolean; picked: number }>`
        with lock as materialized (
          select pg_try_advisory_xact_lock(${RELAY_LOCK_CLASS}, hashtext(current_schema())) as acquired
        ), picked as materialized (
          select o.id from lock, outbox o where lock.acquired order by o.id limit ${BATCH}
        ), gone as (
          delete from outbox where id in (select id from picked)
          returning id, topic, key, value, headers
        )
        select lock.acquired, (select count(*) from picked)::int as picked, g.id, g.topic, g.key, g.value, g.headers
        from lock left join gone g on true
        order by g.id`.execute(trx);
      if (!rows[0]?.acquired) return { round: 'busy' as const, published: 0 };
      const ready = rows.filter((r) => r.id !== null);
      if (ready.length > 0) await publish(ready);
      return { round: rows[0].picked === BATCH ? ('more' as const) : ('empty' as const), published: ready.length };
    });
  }

  async function publishPendingPostgres(): Promise<Round> {
    for (;;) {
      const { round, published } = await publishRoundPostgres();
      if (published > 0) options.onPublished?.(published);
      if (round !== 'more') return round;
    }
  }

  function wake() {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      let soon = 0;
      do {
        again = false;
        try {
          const round = options.dialect === 'postgres' ? await publishPendingPostgres() : await publishPending();
          failures = 0;
          if (round === 'busy' && soon < SOON_TIMES && !stopped) {
            soon++;
            await sleep(SOON_MS);
            again = true;
          }
        } catch (error) {
          failures++;
          logger.warn({ err: error, failures }, 'outbox relay could not publish; will retry');
          await sleep(Math.min(5_000, 100 * 2 ** failures));
          again = !stopped;
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  }

  const timer = setInterval(wake, options.pollMs ?? 1_000);
  timer.unref();
  wake();

  return {
    wake,
    async drain() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (running) await running;
    },
  };
}
