import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type BatchOutcome, type Bus, type BusRecord, wrapHandlers } from './bus/bus.ts';
import { createEmbeddedBus } from './bus/embedded-bus.ts';
import { createKafkaBus } from './bus/kafka-bus.ts';
import { createNatsBus } from './bus/nats-bus.ts';
import type { Config, ServiceName } from './config.ts';
import { type ServiceDatabase, type ServiceMigration, openDatabase } from './database/database.ts';
import { isDatabaseUnavailable } from './database/postgres.ts';
import type { PlatformTables } from './database/platform-tables.ts';
import { type Clock, type EventFactory, createEventFactory, systemClock } from './messaging/event-factory.ts';
import { type ConsumeOptions, type EventConsumer, type EventHandlers, consumeEvents } from './messaging/event-consumer.ts';
import { type OutboxRelay, startOutboxRelay } from './messaging/outbox.ts';
import { startRetentionSweeper } from './messaging/retention.ts';
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
  consume(group: string, handlers: EventHandlers<Schema>, options?: ConsumeOptions): Promise<EventConsumer>;
  readiness(): Promise<Record<string, boolean>>;
  /** Stops the retention sweep and consuming (records in flight finish and commit), drains the outbox, closes the database. */
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
  let stopping = false;
  const bus = waitingOutDatabaseOutages(options.bus, {
    isDatabaseReady: () => database.isReady().catch(() => false),
    isStopping: () => stopping,
    logger,
  });
  const sweeper = startRetentionSweeper(db as unknown as Kysely<PlatformTables>, logger, {
    retentionMs: options.config.retention.inboxMs,
    caughtUp: () => allCaughtUp(consumers),
    onDeleted: ({ inbox, deadLetters }) => {
      metrics.retentionDeleted.inc({ table: 'inbox' }, inbox);
      metrics.retentionDeleted.inc({ table: 'dead_letters' }, deadLetters);
    },
  });
  const runtime: ServiceRuntime<Schema> = {
    service: options.service,
    config: options.config,
    logger,
    metrics,
    bus,
    database,
    db,
    events: createEventFactory(options.service, clock),
    relay,
    clock,
    consumers,
    async consume(group, handlers, consumeOptions) {
      const consumer = await consumeEvents<Schema>(
        { service: options.service, db, bus, relay, logger, metrics, retry: options.config.retry, batchMax: options.config.batchMax, dialect: database.dialect },
        group,
        handlers,
        consumeOptions,
      );
      consumers.push(consumer);
      metrics.watchLag(group, consumer.subscription);
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
      stopping = true;
      await sweeper.stop();
      await Promise.all(consumers.map((c) => c.subscription.close()));
      await relay.drain().catch(() => undefined);
      await relay.stop();
      await database.close();
    },
  };
  return runtime;
}

/** Resolves once every consumer, those subscribed meanwhile included, has handled what its broker had for it at subscribe time. */
async function allCaughtUp(consumers: readonly EventConsumer[]): Promise<void> {
  for (let done = 0; done < consumers.length; ) {
    const subscribed = consumers.length;
    await Promise.all(consumers.slice(done).map((c) => c.subscription.caughtUp()));
    done = subscribed;
  }
}

/**
 * The bus as this service's consumers see it: a handler that failed because the
 * database was unreachable (a PostgreSQL restart, a failover) is retried with backoff
 * for as long as the outage lasts, and the failure does not count towards the record's
 * attempts. Otherwise an outage of a few seconds would dead-letter every record in
 * flight, and their orders would never end. A failure while the database is fine is
 * the handler's and goes through the usual retries and the dead-letter topic. Stopping
 * ends the wait: the record is left unacknowledged and is redelivered.
 */
function waitingOutDatabaseOutages(
  bus: Bus,
  deps: { isDatabaseReady(): Promise<boolean>; isStopping(): boolean; logger: Logger },
): Bus {
  /** The failure is the database's (unreachable), not the handler's: wait for it and try again. */
  const isOutage = async (error: unknown) => !deps.isStopping() && (isDatabaseUnavailable(error) || !(await deps.isDatabaseReady()));
  /** What a batch handled stays handled; the rest is offered again once the database is back. */
  const patientBatch =
    (handleBatch: (records: readonly BusRecord[]) => Promise<BatchOutcome>) =>
    async (records: readonly BusRecord[]): Promise<BatchOutcome> => {
      let handled = 0;
      for (let outage = 1; ; outage++) {
        const outcome = await handleBatch(records.slice(handled)).catch((error: unknown): BatchOutcome => ({ handled: 0, error }));
        handled += outcome.handled;
        if (handled >= records.length || !(await isOutage(outcome.error))) return { handled, error: outcome.error };
        const next = records[handled]!;
        if (outage === 1) deps.logger.warn({ err: outcome.error, topic: next.topic, offset: next.offset, records: records.length - handled }, 'database unavailable; retrying until it is back');
        await sleep(Math.min(5_000, 100 * 2 ** outage));
      }
    };
  /** One record: a batch of one, its failure thrown as the bus expects of `handle`. */
  const patient = (handle: (record: BusRecord) => Promise<void>) => {
    const patientOne = patientBatch(async ([record]) => {
      await handle(record!);
      return { handled: 1 };
    });
    return async (record: BusRecord) => {
      const outcome = await patientOne([record]);
      if (outcome.handled === 0) throw outcome.error;
    };
  };
  return wrapHandlers(bus, { handle: patient, handleBatch: patientBatch });
}

/** The bus for this process, as config.bus chose it (BUS, KAFKA_BROKERS, NATS_URL; else embedded). */
export function createBus(config: Config, logger?: Logger): Bus {
  const settings = config.bus;
  switch (settings.kind) {
    case 'kafka':
      return createKafkaBus({
        brokers: settings.brokers,
        clientId: settings.clientId,
        prefix: settings.prefix,
        replicationFactor: settings.replicationFactor,
        retentionMs: config.retention.brokerMs,
        ssl: settings.ssl,
        sasl: settings.sasl,
        partitions: config.partitions,
        ...(logger ? { logger } : {}),
      });
    case 'nats':
      return createNatsBus({ url: settings.url, streamPrefix: settings.streamPrefix, partitions: config.partitions, retentionMs: config.retention.brokerMs });
    case 'embedded': {
      const file = config.dataDir === ':memory:' ? ':memory:' : join(config.dataDir, 'broker.db');
      return createEmbeddedBus({ file, partitions: config.partitions, retentionMs: config.retention.brokerMs });
    }
  }
}
