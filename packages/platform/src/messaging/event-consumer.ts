import { EnvelopeSchema, Header, MESSAGE_TOPIC, MESSAGE_TYPES, type MessageOf, MessageSchemas, type MessageType, type OrderflowMessage, isMessageType } from '@orderflow/contracts';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { type Bus, type BusRecord, PoisonRecordError, type RetryPolicy, type SubscribeOptions, type Subscription } from '../bus/bus.ts';
import { errorText } from '../bus/delivery.ts';
import type { PlatformTables } from '../database/platform-tables.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { appendToOutbox, type OutboxRelay } from './outbox.ts';
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

export interface ConsumerDeps<Schema> {
  service: string;
  db: Kysely<Schema & PlatformTables>;
  bus: Bus;
  relay: OutboxRelay;
  logger: Logger;
  metrics: ServiceMetrics;
  retry?: RetryPolicy;
}

export interface EventConsumer {
  group: string;
  subscription: Subscription;
  /** Handles one record exactly as the subscription does (dead-letter replay uses it). */
  process(record: BusRecord): Promise<void>;
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

/**
 * Subscribes a consumer group to the topics of the events it handles. Each event is
 * handled in one transaction with its inbox row (consumer group + event id), so a
 * redelivered event finds its row and changes nothing. Events of types the group does
 * not handle are acknowledged without a transaction.
 */
export async function consumeEvents<Schema>(
  deps: ConsumerDeps<Schema>,
  group: string,
  handlers: EventHandlers<Schema>,
): Promise<EventConsumer> {
  const types = Object.keys(handlers) as MessageType[];
  const topics = [...new Set(types.map((t) => MESSAGE_TOPIC[t]))];
  const db = deps.db as unknown as Kysely<PlatformTables>;

  async function process(record: BusRecord): Promise<void> {
    // The event-type header lets a group skip what it does not handle without parsing.
    const headerType = record.headers[Header.eventType];
    if (headerType !== undefined && isMessageType(headerType) && !handlers[headerType]) return;
    const event = parseRecord(record);
    if (!event) return;
    const handler = handlers[event.type] as EventHandler<Schema, MessageType> | undefined;
    if (!handler) return;
    const log = deps.logger.child({ orderId: event.orderId, eventId: event.id, eventType: event.type, group });
    const stopTimer = deps.metrics.handlerLatency.startTimer({ group, event_type: event.type });
    await withSpan(deps.service, `${group} handle ${event.type}`, record.headers, 'consumer', async () => {
      const outcome = await deps.db.transaction().execute(async (trx) => {
        const inserted = await (trx as unknown as Transaction<PlatformTables>)
          .insertInto('inbox')
          .values({ consumer_group: group, message_id: event.id, processed_at: new Date().toISOString() })
          .onConflict((oc) => oc.columns(['consumer_group', 'message_id']).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return 'duplicate' as const;
        const outgoing = await handler(event as MessageOf<MessageType>, trx);
        await appendToOutbox(trx as unknown as Transaction<PlatformTables>, outgoing, record.headers[Header.traceparent]);
        return outgoing.length > 0 ? ('emitted' as const) : ('handled' as const);
      });
      stopTimer();
      deps.metrics.eventsProcessed.inc({ group, event_type: event.type, outcome });
      if (outcome === 'emitted') deps.relay.wake();
      if (outcome === 'duplicate') log.debug('duplicate event ignored');
    });
  }

  const subscription = await deps.bus.subscribe({
    group,
    topics,
    fromBeginning: true,
    retry: deps.retry,
    handle: process,
    // The same skip as process() makes, done by the broker where it can (no delivery at all).
    ignoredTypes: new Set(MESSAGE_TYPES.filter((type) => !handlers[type])),
    ...failureHooks(group, { db, logger: deps.logger, metrics: deps.metrics }),
  });
  return { group, subscription, process };
}

/**
 * What every consumer does when a handler fails: log each retry; after the last one,
 * count it and keep a row for the admin API (idempotent on the record's position).
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
        })
        .onConflict((oc) => oc.columns(['consumer_group', 'topic', 'partition', 'offset']).doNothing())
        .execute();
    },
  };
}
