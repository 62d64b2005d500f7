import { Header, deadLetterTopic } from '@orderflow/contracts';
import { type BusMessage, type BusRecord, PoisonRecordError, type RetryPolicy } from './bus.ts';

export type DeliveryOutcome = 'handled' | 'dead-lettered' | 'aborted';

export interface DeliveryHooks {
  publish(messages: readonly BusMessage[]): Promise<void>;
  /** True once the consumer is closing: stop retrying and leave the record uncommitted. */
  isClosing(): boolean;
  onRetry?(record: BusRecord, attempt: number, error: unknown): void;
  onDeadLetter?(record: BusRecord, error: unknown, attempts: number): Promise<void>;
}

export const backoffMs = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
 */
export async function deliver(
  record: BusRecord,
  group: string,
  handle: (record: BusRecord) => Promise<void>,
  policy: RetryPolicy,
  hooks: DeliveryHooks,
): Promise<DeliveryOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      await handle(record);
      return 'handled';
    } catch (error) {
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
}
