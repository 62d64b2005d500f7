import { EnvelopeSchema, Header, MESSAGE_TOPIC, MESSAGE_TYPES, type MessageOf, MessageSchemas, type MessageType, type OrderflowMessage, isMessageType } from '@orderflow/contracts';
import { type Kysely, type Transaction, sql } from 'kysely';
import type { Logger } from 'pino';
import { type BatchOutcome, type Bus, type BusRecord, PoisonRecordError, type RetryPolicy, type SubscribeOptions, type Subscription } from '../bus/bus.ts';
import { errorText } from '../bus/delivery.ts';
import type { PlatformTables } from '../database/platform-tables.ts';
import type { Dialect } from '../database/schema-builders.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { insertOutboxRows, type OutboxRelay, type OutboxRow, outboxRowsOf } from './outbox.ts';
import { withSpan } from './trace-context.ts';

/**
 * A message handler: given the event (or command) and the open transaction, change this
 * service's state and return the messages that change causes. The caller commits
 * state, outgoing messages and the inbox row together.
 */
export type EventHandler<Schema, T extends MessageType> = (
  event: MessageOf<T>,
  trx: Transaction<Schema & PlatformTables>,
) => Promise<readonly OrderflowMessage[]>;

export type EventHandlers<Schema> = { [T in MessageType]?: EventHandler<Schema, T> };

/**
 * A read model's projection: the batch's new events (not seen before by the group) all at
 * once, in the batch's transaction, so that it can read the rows they touch once and write
 * them once instead of per event. It emits nothing. What it returns runs after the commit
 * (telling live listeners), never for a batch that was rolled back. On PostgreSQL two of
 * its transactions at once (two partitions) must not read the same row, or the later commit
 * drops the earlier one's change. Give consumeEvents lockKeys; without them every
 * transaction of the projection takes the service's batch lock exclusively (one at a time).
 */
export interface BatchProjection<Schema> {
  types: readonly MessageType[];
  project(events: readonly OrderflowMessage[], trx: Transaction<Schema & PlatformTables>): Promise<ProjectedBatch>;
  /**
   * True for an event the projection recognises by itself when it comes again (a read
   * model row that keeps the ids of the events applied to it): such events get no inbox row
   * and reach project() even when redelivered, which must then change nothing. An inbox row
   * is an insert at a random key per event, the largest single cost of a rebuild; the others
   * (false, or no function) go through the inbox as a handler's do.
   */
  recognisesRepeats?(event: OrderflowMessage): boolean;
}

export interface ConsumeOptions {
  /**
   * Names the rows a transaction will read and write back for these events (an order's row
   * or view, a product's stock level). On PostgreSQL the transaction takes a
   * transaction-scoped advisory lock per key, in one sorted statement (two transactions
   * never wait for each other in a cycle): transactions that share a key run one after the
   * other, the others at once. Handlers take them after the service's batch lock; a
   * projection takes them instead of it (without keys a projection's transactions take that
   * lock exclusively, so they all run one at a time: on a busy system, fifteen partitions'
   * consumers queued behind one lock). Rows every transaction adds to in SQL (counters)
   * need no key. SQLite runs one write transaction at a time and takes none.
   */
  lockKeys?(events: readonly OrderflowMessage[]): readonly string[];
}

export interface ProjectedBatch {
  /** Runs after the commit (telling live listeners). */
  afterCommit(): void;
  /** Positions (in the events given) of events it recognised as already applied: counted as duplicates. */
  repeats: ReadonlySet<number>;
}

const isProjection = <Schema>(handlers: EventHandlers<Schema> | BatchProjection<Schema>): handlers is BatchProjection<Schema> =>
  'project' in handlers && typeof handlers.project === 'function';

export interface ConsumerDeps<Schema> {
  service: string;
  db: Kysely<Schema & PlatformTables>;
  bus: Bus;
  relay: OutboxRelay;
  logger: Logger;
  metrics: ServiceMetrics;
  retry?: RetryPolicy;
  /** Most records of a partition handled in one transaction (BUS_BATCH_MAX). */
  batchMax?: number;
  /** On 'postgres' batches take the service's batch lock (see BATCH_LOCK_CLASS). Default 'sqlite'. */
  dialect?: Dialect;
}

/**
 * First key of the advisory lock a consumer transaction takes on PostgreSQL; the second is
 * a hash of the service's schema. Each handler locks rows in a stable order, so two
 * single-record transactions cannot deadlock; a batch locks the rows of one record after
 * another, out of that order, so two batches (of two partitions, or two replicas) could.
 * A transaction of several records therefore takes the lock exclusively and one of a single
 * record takes it shared: batches of a service run one at a time and single records run
 * together. Taken first, before any row lock, so it adds no cycle of its own.
 */
const BATCH_LOCK_CLASS = 0x6f72_6462; // 'ordb'

/**
 * Takes a transaction-scoped advisory lock per key (see ConsumeOptions.lockKeys), in the
 * order of their hashes: the sorted subquery feeds the locks one after another. Keys are
 * hashed with the schema (64 bits; the single-key lock space, apart from BATCH_LOCK_CLASS's
 * pairs), so the replicas of a service share them and other services' never meet them; a
 * collision only makes two batches wait for each other.
 */
async function lockRowKeys<DB>(trx: Transaction<DB>, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await sql`
    select count(pg_advisory_xact_lock(k)) from (
      select distinct hashtextextended(current_schema() || ':' || key, 0) as k from unnest(${keys}::text[]) as t(key) order by k
    ) as sorted`.execute(trx);
}

export interface EventConsumer {
  group: string;
  subscription: Subscription;
  /** Handles one record exactly as the subscription does (dead-letter replay uses it). */
  process(record: BusRecord): Promise<void>;
}

/** A consumer whose records are handled in transactions of several at once. */
export interface BatchingEventConsumer extends EventConsumer {
  /** Handles records of one partition in one transaction, as the subscription does (see SubscribeOptions.handleBatch). */
  processBatch(records: readonly BusRecord[]): Promise<BatchOutcome>;
}

/**
 * Parses a record into an event. Undefined means an event type this version does not
 * know (a newer producer): skipped by every consumer. A record that is not an event
 * at all throws PoisonRecordError, which dead-letters it at once.
 */
export function parseRecord(record: BusRecord): OrderflowMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(record.value);
  } catch (error) {
    throw new PoisonRecordError(`record value is not JSON: ${errorText(error)}`);
  }
  // A known type's schema includes the envelope: one validation on the hot path. The
  // envelope alone is checked only to tell an unknown type from a broken record.
  const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
  const event = typeof type === 'string' && isMessageType(type) ? MessageSchemas[type].safeParse(json) : undefined;
  if (event?.success) return event.data as OrderflowMessage;
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) throw new PoisonRecordError(`record is not an event envelope: ${envelope.error.message}`);
  if (!event) return undefined;
  throw new PoisonRecordError(`${envelope.data.type} does not match its schema: ${event.error.message}`);
}

/** A record's handler threw (or the record is poison): the batch is handled up to it. */
class RecordFailure extends Error {
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(`record ${index} of the batch failed`);
  }
}

/**
 * Subscribes a consumer group to the topics of the events it handles. The records a
 * partition has waiting are handled together, in order, in one transaction that inserts
 * one inbox row per record (consumer group + event id) up front, runs each record's
 * handler, and inserts every outgoing message at the end in one statement (the outbox
 * insert must be a transaction's last statement, see insertOutboxRows). A redelivered
 * event finds its inbox row and changes nothing; so does the second copy of an event
 * within one batch. Events of types the group does not handle need no transaction. A
 * projection's events that it recognises itself (recognisesRepeats) skip the inbox.
 *
 * A handler that throws fails the batch at its record. The transaction is rolled back and
 * the records before it are handled again in a new transaction (without it); the failing
 * record then goes through the bus's usual per-record retries and dead-letter topic, and
 * the records after it come in the next batch. Trade-off, against a SAVEPOINT per record:
 * a savepoint is one more statement (a round trip on PostgreSQL) for every record on the
 * happy path, while redoing costs only when a handler fails, which is rare; and a failed
 * PostgreSQL statement aborts the whole transaction anyway, so the rollback is clean.
 * The records before the failure are never committed twice: the first transaction did not commit.
 */
export async function consumeEvents<Schema>(
  deps: ConsumerDeps<Schema>,
  group: string,
  handling: EventHandlers<Schema> | BatchProjection<Schema>,
  options: ConsumeOptions = {},
): Promise<BatchingEventConsumer> {
  const projection = isProjection(handling) ? handling : undefined;
  const handlers: EventHandlers<Schema> = projection ? {} : (handling as EventHandlers<Schema>);
  const types = projection ? [...projection.types] : (Object.keys(handlers) as MessageType[]);
  const handles = (type: MessageType) => types.includes(type);
  const topics = [...new Set(types.map((t) => MESSAGE_TOPIC[t]))];
  const db = deps.db as unknown as Kysely<PlatformTables>;

  interface Work {
    record: BusRecord;
    event: OrderflowMessage;
    handler: EventHandler<Schema, MessageType> | undefined;
  }

  /** The record's event and handler; undefined when this group has nothing to do with it. Throws PoisonRecordError. */
  function workOf(record: BusRecord): Work | undefined {
    // The event-type header lets a group skip what it does not handle without parsing.
    const headerType = record.headers[Header.eventType];
    if (headerType !== undefined && isMessageType(headerType) && !handles(headerType)) return undefined;
    const event = parseRecord(record);
    if (!event || !handles(event.type)) return undefined;
    return { record, event, handler: handlers[event.type] as EventHandler<Schema, MessageType> | undefined };
  }

  /** Handles every item in one transaction; throws RecordFailure at the first handler that throws. */
  async function handleTogether(items: readonly (Work | undefined)[]): Promise<void> {
    const work = items.flatMap((item, index) => (item ? [{ ...item, index }] : []));
    if (work.length === 0) return;
    const timers = work.map((w) => deps.metrics.handlerLatency.startTimer({ group, event_type: w.event.type }));
    const { outcomes, afterCommit } = await deps.db.transaction().execute(async (trx) => {
      if (deps.dialect === 'postgres') {
        const keys = options.lockKeys?.(work.map((w) => w.event));
        if (!projection || !keys) {
          // A projection without keys reads, evolves and writes back rows that any event may touch: exclusive always.
          const lock = work.length > 1 || projection ? sql`pg_advisory_xact_lock` : sql`pg_advisory_xact_lock_shared`;
          await sql`select ${lock}(${BATCH_LOCK_CLASS}, hashtext(current_schema()))`.execute(trx);
        }
        if (keys) await lockRowKeys(trx, keys);
      }
      const recognised = (event: OrderflowMessage) => projection?.recognisesRepeats?.(event) ?? false;
      const inboxIds = [...new Set(work.flatMap((w) => (recognised(w.event) ? [] : [w.event.id])))];
      const processedAt = new Date().toISOString();
      const inserted =
        inboxIds.length === 0
          ? []
          : await (trx as unknown as Transaction<PlatformTables>)
              .insertInto('inbox')
              .values(inboxIds.map((id) => ({ consumer_group: group, message_id: id, processed_at: processedAt })))
              .onConflict((oc) => oc.columns(['consumer_group', 'message_id']).doNothing())
              .returning('message_id')
              .execute();
      const fresh = new Set(inserted.map((row) => row.message_id));
      const outgoing: OutboxRow[] = [];
      const outcomes: ('duplicate' | 'emitted' | 'handled')[] = [];
      const projected: { event: OrderflowMessage; index: number; outcome: number }[] = [];
      for (const { record, event, handler, index } of work) {
        if (recognised(event)) {
          // The projection tells whether it had seen it (its outcome then becomes 'duplicate').
          projected.push({ event, index, outcome: outcomes.length });
          outcomes.push('handled');
          continue;
        }
        // Deleted once handled: a second copy of the event in this batch is a duplicate too.
        if (!fresh.delete(event.id)) {
          outcomes.push('duplicate');
          continue;
        }
        if (!handler) {
          projected.push({ event, index, outcome: outcomes.length });
          outcomes.push('handled');
          continue;
        }
        const rows = await withSpan(deps.service, `${group} handle ${event.type}`, record.headers, 'consumer', async () => {
          try {
            // The rows are made here, inside the record's span: their traceparent is its child.
            return outboxRowsOf(await handler(event as MessageOf<MessageType>, trx), record.headers[Header.traceparent]);
          } catch (error) {
            throw new RecordFailure(index, error);
          }
        });
        outgoing.push(...rows);
        outcomes.push(rows.length > 0 ? 'emitted' : 'handled');
      }
      let afterCommit: (() => void) | undefined;
      if (projection && projected.length > 0) {
        try {
          const batch = await projection.project(projected.map((p) => p.event), trx);
          afterCommit = batch.afterCommit;
          for (const position of batch.repeats) outcomes[projected[position]!.outcome] = 'duplicate';
        } catch (error) {
          // Which event failed is not known: the batch fails at its first new one, which goes on
          // alone (retries, dead letter); the ones after it come again in the next batch.
          throw new RecordFailure(projected[0]!.index, error);
        }
      }
      await insertOutboxRows(trx, outgoing);
      return { outcomes, afterCommit };
    });
    afterCommit?.();
    for (const [i, w] of work.entries()) {
      timers[i]!();
      deps.metrics.eventsProcessed.inc({ group, event_type: w.event.type, outcome: outcomes[i]! });
      if (outcomes[i] === 'duplicate') deps.logger.debug({ orderId: w.event.orderId, eventId: w.event.id, eventType: w.event.type, group }, 'duplicate event ignored');
    }
    if (outcomes.includes('emitted')) deps.relay.wake();
  }

  async function processBatch(records: readonly BusRecord[]): Promise<BatchOutcome> {
    const items: (Work | undefined)[] = [];
    let failure: { index: number; error: unknown } | undefined;
    for (const [index, record] of records.entries()) {
      try {
        items.push(workOf(record));
      } catch (error) {
        failure = { index, error }; // a poison record: the batch ends before it
        break;
      }
    }
    for (;;) {
      try {
        await handleTogether(items);
        return failure ? { handled: failure.index, error: failure.error } : { handled: records.length };
      } catch (error) {
        // Rolled back. A handler failed: redo the records before it without it. Anything
        // else (the commit, the connection) failed the whole batch.
        if (!(error instanceof RecordFailure)) return { handled: 0, error };
        failure = { index: error.index, error: error.cause };
        items.length = error.index;
      }
    }
  }

  async function process(record: BusRecord): Promise<void> {
    const outcome = await processBatch([record]);
    if (outcome.handled === 0) throw outcome.error;
  }

  const subscription = await deps.bus.subscribe({
    group,
    topics,
    fromBeginning: true,
    retry: deps.retry,
    handle: process,
    handleBatch: processBatch,
    ...(deps.batchMax !== undefined ? { batchMax: deps.batchMax } : {}),
    // The same skip as process() makes, done by the broker where it can (no delivery at all).
    ignoredTypes: new Set(MESSAGE_TYPES.filter((type) => !handles(type))),
    ...failureHooks(group, { db, logger: deps.logger, metrics: deps.metrics }),
  });
  return { group, subscription, process, processBatch };
}

/** The id of the event a record carries; null for a record that is not an event envelope (poison). */
function eventIdOf(record: BusRecord): string | null {
  try {
    const envelope = EnvelopeSchema.safeParse(JSON.parse(record.value));
    return envelope.success ? envelope.data.id : null;
  } catch {
    return null;
  }
}

/**
 * What every consumer does when a handler fails: log each retry; after the last one,
 * count it and keep a row for the admin API (idempotent on the record's position). The row
 * names the event's id: while it is unresolved, the retention sweep keeps that event's inbox
 * row, so a replay days later still finds a copy handled meanwhile (see sweepExpired).
 */
export function failureHooks<DB>(
  group: string,
  deps: { db: Kysely<DB>; logger: Logger; metrics: ServiceMetrics },
): Pick<SubscribeOptions, 'onRetry' | 'onDeadLetter'> {
  const db = deps.db as unknown as Kysely<PlatformTables>;
  return {
    onRetry: (record, attempt, error) =>
      deps.logger.warn({ group, topic: record.topic, offset: record.offset, attempt, err: error }, 'handler failed; retrying'),
    onDeadLetter: async (record, error, attempts) => {
      deps.metrics.deadLetters.inc({ group, topic: record.topic });
      deps.logger.error({ group, topic: record.topic, partition: record.partition, offset: record.offset, attempts, err: error }, 'record dead-lettered');
      await db
        .insertInto('dead_letters')
        .values({
          consumer_group: group,
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          key: record.key,
          value: record.value,
          headers: JSON.stringify(record.headers),
          error: errorText(error),
          attempts,
          failed_at: new Date().toISOString(),
          replayed_at: null,
          message_id: eventIdOf(record),
        })
        .onConflict((oc) => oc.columns(['consumer_group', 'topic', 'partition', 'offset']).doNothing())
        .execute();
    },
  };
}
