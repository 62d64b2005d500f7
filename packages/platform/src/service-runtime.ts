import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Bus } from './bus/bus.ts';
import { createEmbeddedBus } from './bus/embedded-bus.ts';
import { createKafkaBus } from './bus/kafka-bus.ts';
import { createNatsBus } from './bus/nats-bus.ts';
import type { Config, ServiceName } from './config.ts';
import { type ServiceDatabase, type ServiceMigration, openDatabase } from './database/database.ts';
import type { PlatformTables } from './database/platform-tables.ts';
import { type Clock, type EventFactory, createEventFactory, systemClock } from './messaging/event-factory.ts';
import { type EventConsumer, type EventHandlers, consumeEvents } from './messaging/event-consumer.ts';
import { type OutboxRelay, startOutboxRelay } from './messaging/outbox.ts';
import { type ServiceMetrics, createServiceMetrics } from './metrics.ts';

/** Everything a service's wiring needs: its database, the bus, the outbox relay, logs and metrics. */
export interface ServiceRuntime<Schema> {
  service: ServiceName;
  config: Config;
  logger: Logger;
  metrics: ServiceMetrics;
  bus: Bus;
  database: ServiceDatabase<Schema>;
  db: Kysely<Schema & PlatformTables>;
  events: EventFactory;
  relay: OutboxRelay;
  clock: Clock;
  consumers: EventConsumer[];
  consume(group: string, handlers: EventHandlers<Schema>): Promise<EventConsumer>;
  readiness(): Promise<Record<string, boolean>>;
  /** Stops consuming (records in flight finish and commit), drains the outbox, closes the database. */
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  service: ServiceName;
  config: Config;
  bus: Bus;
  logger: Logger;
  migrations: Record<string, ServiceMigration>;
  clock?: Clock;
}

export async function startServiceRuntime<Schema>(options: RuntimeOptions): Promise<ServiceRuntime<Schema>> {
  const logger = options.logger.child({ service: options.service });
  const metrics = createServiceMetrics(options.service);
  const database = await openDatabase<Schema>(
    { service: options.service, dataDir: options.config.dataDir, url: options.config.database.url, poolSize: options.config.database.poolSize },
    options.migrations,
  );
  const db = database.db;
  const relay = startOutboxRelay(db as unknown as Kysely<PlatformTables>, options.bus, logger, {
    onPublished: (count) => metrics.eventsPublished.inc(count),
    dialect: database.dialect,
  });
  const clock = options.clock ?? systemClock;
  const consumers: EventConsumer[] = [];
  const runtime: ServiceRuntime<Schema> = {
    service: options.service,
    config: options.config,
    logger,
    metrics,
    bus: options.bus,
    database,
    db,
    events: createEventFactory(options.service, clock),
    relay,
    clock,
    consumers,
    async consume(group, handlers) {
      const consumer = await consumeEvents<Schema>(
        { service: options.service, db, bus: options.bus, relay, logger, metrics, retry: options.config.retry },
        group,
        handlers,
      );
      consumers.push(consumer);
      return consumer;
    },
    async readiness() {
      const [databaseReady, busReady] = await Promise.all([
        database.isReady().catch(() => false),
        options.bus.isReady().catch(() => false),
      ]);
      return { database: databaseReady, broker: busReady };
    },
    async stop() {
      await Promise.all(consumers.map((c) => c.subscription.close()));
      await relay.drain().catch(() => undefined);
      await relay.stop();
      await database.close();
    },
  };
  return runtime;
}

/** The bus for this process, as config.bus chose it (BUS, KAFKA_BROKERS, NATS_URL; else embedded). */
export function createBus(config: Config): Bus {
  const settings = config.bus;
  switch (settings.kind) {
    case 'kafka':
      return createKafkaBus({
        brokers: settings.brokers,
        clientId: settings.clientId,
        replicationFactor: settings.replicationFactor,
        ssl: settings.ssl,
        sasl: settings.sasl,
        partitions: config.partitions,
      });
    case 'nats':
      return createNatsBus({ url: settings.url, streamPrefix: settings.streamPrefix, partitions: config.partitions });
    case 'embedded': {
      const file = config.dataDir === ':memory:' ? ':memory:' : join(config.dataDir, 'broker.db');
      return createEmbeddedBus({ file, partitions: config.partitions });
    }
  }
}
