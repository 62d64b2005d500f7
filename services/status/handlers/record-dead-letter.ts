import type { BusRecord, ServiceRuntime } from '@orderflow/platform';

export type DeadLetterLog = (group: string, record: BusRecord, error: unknown, attempts: number) => Promise<void>;

/**
 * Keeps a row per dead-lettered record so the admin API lists it, as the platform's
 * consumer does for the other services. The unique (group, topic, partition, offset)
 * makes the row idempotent, although a replaying group dead-letters on every start.
 */
export function recordDeadLetter(db: ServiceRuntime<object>['db'], now: () => string): DeadLetterLog {
  return async (group, record, error, attempts) => {
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
        error: (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000),
        attempts,
        failed_at: now(),
        replayed_at: null,
      })
      .onConflict((oc) => oc.columns(['consumer_group', 'topic', 'partition', 'offset']).doNothing())
      .execute();
  };
}
