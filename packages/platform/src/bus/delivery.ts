import { setTimeout as sleep } from 'node:timers/promises';
import { Header, deadLetterTopic } from '@orderflow/contracts';
import { type BatchOutcome, type BusMessage, type BusRecord, DEFAULT_BATCH_MAX, PoisonRecordError, type RetryPolicy, type SubscribeOptions } from './bus.ts';

export type DeliveryOutcome = 'handled' | 'dead-lettered' | 'aborted';

export interface DeliveryHooks {
  publish(messages: readonly BusMessage[]): Promise<void>;
  /** True once the consumer is closing: stop retrying and leave the record uncommitted. */
  isClosing(): boolean;
  onRetry?(record: BusRecord, attempt: number, error: unknown): void;
  onDeadLetter?(record: BusRecord, error: unknown, attempts: number): Promise<void>;
}

/** The wait before attempt n+1: exponential from initialBackoffMs, capped (handler retries, service restarts). */
export const backoffMs = (policy: Pick<RetryPolicy, 'initialBackoffMs' | 'maxBackoffMs'>, attempt: number): number =>
  Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));

export const errorText = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000);

/** The dead-letter record: original key, value and headers, plus where it came from and why. */
export function deadLetterOf(record: BusRecord, group: string, error: unknown, attempts: number): BusMessage {
  return {
    topic: deadLetterTopic(record.topic),
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [Header.dltOriginalTopic]: record.topic,
      [Header.dltOriginalPartition]: String(record.partition),
      [Header.dltOriginalOffset]: record.offset,
      [Header.dltError]: errorText(error),
      [Header.dltAttempts]: String(attempts),
      [Header.dltConsumerGroup]: group,
    },
  };
}

/**
 * Runs a handler for one record with the group's retry policy, shared by every bus
 * adapter so that all retry and dead-letter the same way. A handler failure is never
 * swallowed: it is retried, then written to `<topic>.DLT` before the offset moves on.
 * `failedOnce`: the record's first attempt already failed (in a batch) with this error.
 */
export async function deliver(
  record: BusRecord,
  group: string,
  handle: (record: BusRecord) => Promise<void>,
  policy: RetryPolicy,
  hooks: DeliveryHooks,
  failedOnce?: { error: unknown },
): Promise<DeliveryOutcome> {
  for (let attempt = 1; ; attempt++) {
    let error: unknown;
    if (attempt === 1 && failedOnce) error = failedOnce.error;
    else {
      try {
        await handle(record);
        return 'handled';
      } catch (failure) {
        error = failure;
      }
    }
    const poison = error instanceof PoisonRecordError;
    if (poison || attempt >= policy.maxAttempts) {
      await hooks.publish([deadLetterOf(record, group, error, attempt)]);
      await hooks.onDeadLetter?.(record, error, attempt);
      return 'dead-lettered';
    }
    hooks.onRetry?.(record, attempt, error);
    await sleep(backoffMs(policy, attempt));
    if (hooks.isClosing()) return 'aborted';
  }
}

/**
 * Delivers records of one partition, in order, in batches of at most `batchMax` when the
 * subscriber can handle batches (else one by one). `onHandled` gets each run of records
 * that was handled (or dead-lettered) and committed, in order: the adapter moves the
 * partition's position past them, never past a record not finished. A record that fails
 * in a batch is then retried alone (deliver, above), so the records before it are not
 * redone and the ones after it wait for it: the partition's order, and so each key's, holds.
 * 'aborted': the consumer is closing; the records after the last one passed to onHandled
 * are left for the partition's next owner.
 */
export async function deliverAll(
  records: readonly BusRecord[],
  group: string,
  subscriber: Pick<SubscribeOptions, 'handle' | 'handleBatch' | 'batchMax'>,
  policy: RetryPolicy,
  hooks: DeliveryHooks,
  onHandled: (handled: readonly BusRecord[]) => void | Promise<void>,
): Promise<'done' | 'aborted'> {
  const batchMax = Math.max(1, subscriber.batchMax ?? DEFAULT_BATCH_MAX);
  let next = 0;
  while (next < records.length) {
    if (hooks.isClosing()) return 'aborted';
    const batch = records.slice(next, next + batchMax);
    let failedOnce: { error: unknown } | undefined;
    if (subscriber.handleBatch && batch.length > 1) {
      let outcome: BatchOutcome;
      try {
        outcome = await subscriber.handleBatch(batch);
      } catch (error) {
        outcome = { handled: 0, error };
      }
      const handled = Math.min(batch.length, Math.max(0, outcome.handled));
      if (handled > 0) {
        next += handled;
        await onHandled(batch.slice(0, handled));
      }
      if (handled === batch.length) continue;
      failedOnce = { error: outcome.error };
    }
    const record = records[next]!;
    if (await deliver(record, group, subscriber.handle, policy, hooks, failedOnce) === 'aborted') return 'aborted';
    next++;
    await onHandled([record]);
  }
  return 'done';
}
