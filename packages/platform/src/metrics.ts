import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Subscription } from './bus/bus.ts';

export interface ServiceMetrics {
  registry: Registry;
  handlerLatency: Histogram<'group' | 'event_type'>;
  eventsProcessed: Counter<'group' | 'event_type' | 'outcome'>;
  deadLetters: Counter<'group' | 'topic'>;
  eventsPublished: Counter<never>;
  /** Rows the retention sweep deleted: expired inbox rows, resolved dead letters. */
  retentionDeleted: Counter<'table'>;
  ordersByStatus: Gauge<'status'>;
  consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  /** Reports a consumer group's lag at every scrape. */
  watchLag(group: string, subscription: Pick<Subscription, 'lag'>): void;
}

/** A scrape does not wait longer for a broker's answer: a group it cannot ask has no sample. */
const LAG_TIMEOUT_MS = 2_000;

/** A registry per service (several share one process in embedded mode). */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'orderflow_' });
  const lagSources: { group: string; subscription: Pick<Subscription, 'lag'> }[] = [];
  return {
    registry,
    handlerLatency: new Histogram({
      name: 'orderflow_handler_duration_seconds',
      help: 'Time to handle one event, transaction included',
      labelNames: ['group', 'event_type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    eventsProcessed: new Counter({
      name: 'orderflow_events_processed_total',
      help: 'Events handled, by outcome (handled, emitted, duplicate)',
      labelNames: ['group', 'event_type', 'outcome'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'orderflow_dead_letters_total',
      help: 'Records written to a dead-letter topic after their handler kept failing',
      labelNames: ['group', 'topic'],
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: 'orderflow_outbox_published_total',
      help: 'Events moved from the outbox to the broker',
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: 'orderflow_retention_deleted_total',
      help: 'Rows deleted by the retention sweep (table: inbox or dead_letters)',
      labelNames: ['table'],
      registers: [registry],
    }),
    ordersByStatus: new Gauge({
      name: 'orderflow_orders_by_status',
      help: 'Orders in each status',
      labelNames: ['status'],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'orderflow_consumer_lag',
      help: 'Records a consumer group has not handled yet, per partition (partition="all": the whole topic), asked of the broker at scrape time',
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const { group, subscription } of lagSources) {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), LAG_TIMEOUT_MS)));
          const lags = await Promise.race([subscription.lag().catch(() => undefined), timeout]);
          clearTimeout(timer);
          for (const lag of lags ?? []) this.set({ group, topic: lag.topic, partition: lag.partition === null ? 'all' : String(lag.partition) }, lag.records);
        }
      },
    }),
    watchLag(group, subscription) {
      lagSources.push({ group, subscription });
    },
  };
}
