import { EVENT_TOPICS, EnvelopeSchema, type OrderflowEvent, isEventType, parseEvent } from '@orderflow/contracts';
import { type Bus, type BusRecord, type EventConsumer, type Logger, PoisonRecordError, type RetryPolicy, type ServiceMetrics } from '@orderflow/platform';
import type { ReadModel } from '../store/read-model.ts';
import type { DeadLetterLog } from './record-dead-letter.ts';

export const STATUS_GROUP = 'status';

function envelopeType(value: string): string | undefined {
  try {
    const envelope = EnvelopeSchema.safeParse(JSON.parse(value));
    return envelope.success ? envelope.data.type : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A record that does not parse can never succeed: PoisonRecordError sends it to the
 * dead-letter topic at once. An event type this version does not know (a newer
 * producer) is skipped, as every consumer does.
 */
export function parseRecord(record: BusRecord): OrderflowEvent | undefined {
  try {
    return parseEvent(record.value);
  } catch (error) {
    const type = envelopeType(record.value);
    if (type !== undefined && !isEventType(type)) return undefined;
    throw new PoisonRecordError(`not an orderflow event: ${error instanceof Error ? error.message : String(error)}`.slice(0, 1000));
  }
}

export interface ProjectionDeps {
  bus: Bus;
  readModel: ReadModel;
  logger: Logger;
  metrics: ServiceMetrics;
  retry: RetryPolicy;
  deadLetters: DeadLetterLog;
}

/**
 * Projects every topic into the read model. `replay: true` reads each topic from the
 * beginning on every start and commits nothing: the read model is a pure function of
 * the log, and the projection is idempotent (event ids), so no inbox is needed. The
 * trade-off: a poison record is dead-lettered again on every start.
 */
export async function projectEvents(deps: ProjectionDeps): Promise<EventConsumer> {
  const { readModel, metrics } = deps;
  async function process(record: BusRecord): Promise<void> {
    const event = parseRecord(record);
    if (!event) return;
    const stopTimer = metrics.handlerLatency.startTimer({ group: STATUS_GROUP, event_type: event.type });
    const change = readModel.apply(event);
    stopTimer();
    metrics.eventsProcessed.inc({ group: STATUS_GROUP, event_type: event.type, outcome: change ? 'handled' : 'unchanged' });
    if (change && change.before?.status !== change.after.status) {
      if (change.before) metrics.ordersByStatus.dec({ status: change.before.status });
      metrics.ordersByStatus.inc({ status: change.after.status });
    }
  }

  const subscription = await deps.bus.subscribe({
    group: STATUS_GROUP,
    topics: EVENT_TOPICS,
    replay: true,
    retry: deps.retry,
    handle: process,
    onRetry: (record, attempt, error) =>
      deps.logger.warn({ group: STATUS_GROUP, topic: record.topic, offset: record.offset, attempt, err: error }, 'projection failed; retrying'),
    onDeadLetter: async (record, error, attempts) => {
      metrics.deadLetters.inc({ group: STATUS_GROUP, topic: record.topic });
      deps.logger.error({ group: STATUS_GROUP, topic: record.topic, partition: record.partition, offset: record.offset, attempts, err: error }, 'record dead-lettered');
      await deps.deadLetters(STATUS_GROUP, record, error, attempts);
    },
  });
  return { group: STATUS_GROUP, subscription, process };
}
