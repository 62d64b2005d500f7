import { EVENT_TOPICS, isEvent } from '@orderflow/contracts';
import { type Bus, type BusRecord, type EventConsumer, type Logger, type RetryPolicy, type ServiceMetrics, failureHooks, parseRecord } from '@orderflow/platform';
import type { Kysely } from 'kysely';
import type { ReadModel } from '../store/read-model.ts';

export const STATUS_GROUP = 'status';

export interface ProjectionDeps {
  bus: Bus;
  readModel: ReadModel;
  logger: Logger;
  metrics: ServiceMetrics;
  retry: RetryPolicy;
  // biome-ignore lint/suspicious/noExplicitAny: any service database (it has the platform tables)
  db: Kysely<any>;
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
    const message = parseRecord(record);
    // Commands travel on their own topics; only facts are projected.
    if (!message || !isEvent(message)) return;
    const event = message;
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
    ...failureHooks(STATUS_GROUP, { db: deps.db, logger: deps.logger, metrics }),
  });
  return { group: STATUS_GROUP, subscription, process };
}
