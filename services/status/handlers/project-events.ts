import { EVENT_TYPES, OrderStatus, type OrderView, type RebuildProgress } from '@orderflow/contracts';
import { type BatchProjection, type BatchingEventConsumer, type ConsumerDeps, type EventConsumer, consumeEvents } from '@orderflow/platform';
import { type Generation, beginRebuild, deleteGenerationRows, failRebuild, latestGeneration, openGenerations, takeOver } from '../store/generations.ts';
import { type OrderChange, projectBatch, recognisesRepeats, rowKeysOf } from '../store/read-model.ts';
import type { StatusTables } from '../store/schema.ts';

export type OrderListener = (order: OrderView) => void;

type TrackedConsumer = BatchingEventConsumer & { closed: boolean };

export interface Projection {
  /** Resolves once the active generation has read what the log held when the service started. */
  caughtUp(): Promise<void>;
  /** Called after the commit of every change of an active order view; returns the unsubscribe function. */
  onOrderChange(listener: OrderListener): () => void;
  /** Starts a rebuild into a new generation; undefined when one is running. */
  startRebuild(): Promise<RebuildProgress | undefined>;
  rebuildProgress(): Promise<RebuildProgress>;
  /** Resolves when the rebuild running now (if any) has taken over or failed (tests, the command's waits). */
  rebuildSettled(): Promise<void>;
}

export interface ProjectionDeps {
  consumer: ConsumerDeps<StatusTables>;
  /** The service's consumers: the admin API's dead-letter replay and stop() go through them. */
  consumers: EventConsumer[];
  now(): Date;
  onListenerError(error: unknown): void;
}

/**
 * Projects the log into the persisted read model through the platform's durable consumer
 * path: each batch's events in one transaction, so a restart continues where it stopped
 * (the broker keeps the group's position; what it redelivers, the order views recognise
 * and the inbox drops for restocks). A rebuild projects the whole log again into a new generation under its
 * own consumer group while the active one keeps serving, and takes over once caught up.
 */
export async function startProjection(deps: ProjectionDeps): Promise<Projection> {
  const { db, metrics, logger } = deps.consumer;
  const iso = () => deps.now().toISOString();
  const listeners = new Set<OrderListener>();
  const generations = await openGenerations(db, iso());
  let active = generations.active;
  let rebuild: { generation: Generation; consumer: TrackedConsumer; settled: Promise<void> } | undefined;

  function notify(changes: readonly OrderChange[]) {
    for (const { before, after } of changes) {
      if (before?.status !== after.status) {
        if (before) metrics.ordersByStatus.dec({ status: before.status });
        metrics.ordersByStatus.inc({ status: after.status });
      }
      for (const listener of listeners) {
        // A failing listener (one client's socket) must not fail projecting the log.
        try {
          listener(after);
        } catch (error) {
          deps.onListenerError(error);
        }
      }
    }
  }

  async function setStatusGauge() {
    const counts = await db.selectFrom('order_counts').select(['status', 'count']).where('generation', '=', active.generation).execute();
    metrics.ordersByStatus.reset();
    for (const status of OrderStatus.options) metrics.ordersByStatus.set({ status }, Number(counts.find((c) => c.status === status)?.count ?? 0));
  }

  async function consume(generation: Generation): Promise<TrackedConsumer> {
    const projection: BatchProjection<StatusTables> = {
      types: EVENT_TYPES,
      async project(messages, trx) {
        const { changes, repeats } = await projectBatch(trx, generation.generation, messages);
        return {
          repeats,
          // Only the serving copy's changes reach live clients; a rebuild's would repeat old news.
          afterCommit() {
            if (generation.generation === active.generation) notify(changes);
          },
        };
      },
      recognisesRepeats,
    };
    // PostgreSQL: batches of different orders and products project at once, one order's one after another.
    const consumer = await consumeEvents<StatusTables>(deps.consumer, generation.consumer_group, projection, {
      lockKeys: (messages) => rowKeysOf(generation.generation, messages),
    });
    // A subscription's caughtUp() also resolves when it is closed (the service stopping): a
    // rebuild must not take over then, so the close is recorded on its way.
    const subscription = consumer.subscription;
    const tracked: TrackedConsumer = {
      ...consumer,
      closed: false,
      subscription: {
        caughtUp: () => subscription.caughtUp(),
        lag: () => subscription.lag(),
        close: () => {
          tracked.closed = true;
          return subscription.close();
        },
      },
    };
    deps.consumers.push(tracked);
    return tracked;
  }

  async function retire(generation: Generation, consumer: TrackedConsumer | undefined) {
    if (consumer) {
      await consumer.subscription.close();
      deps.consumers.splice(deps.consumers.indexOf(consumer), 1);
    }
    await deleteGenerationRows(db, generation);
  }

  /** Waits for the rebuild to catch up, then switches; the old copy's consumer stops and its rows go. */
  function follow(generation: Generation, consumer: TrackedConsumer) {
    const settled = (async () => {
      try {
        await consumer.subscription.caughtUp();
        // Stopped before it caught up: it stays 'rebuilding' and goes on at the next start.
        if (consumer.closed) return;
        await takeOver(db, generation.generation, iso());
        const previous = active;
        const previousConsumer = live;
        active = generation;
        live = consumer;
        await setStatusGauge();
        logger.info({ generation: generation.generation, previous: previous.generation }, 'rebuilt read model took over');
        await retire(previous, previousConsumer);
      } catch (error) {
        logger.error({ err: error, generation: generation.generation }, 'read model rebuild failed');
        await failRebuild(db, generation.generation, error instanceof Error ? error.message : String(error), iso()).catch(() => undefined);
        await retire(generation, consumer).catch(() => undefined);
      }
    })();
    rebuild = { generation, consumer, settled };
    void settled.finally(() => {
      if (rebuild?.generation === generation) rebuild = undefined;
    });
  }

  let live = await consume(active);
  await setStatusGauge();
  metrics.watchLag(FIRST_LAG_LABEL, { lag: () => live.subscription.lag() });
  const startedLive = live;
  // A rebuild interrupted by a stop goes on where its group stopped.
  if (generations.rebuilding) follow(generations.rebuilding, await consume(generations.rebuilding));

  async function progress(): Promise<RebuildProgress> {
    const latest = (await latestGeneration(db)) ?? active;
    const running = rebuild && rebuild.generation.generation === latest.generation ? rebuild : undefined;
    const lag = running ? (await running.consumer.subscription.lag()).reduce((sum, p) => sum + p.records, 0) : 0;
    const state = latest.generation === 1 ? 'idle' : latest.role === 'rebuilding' ? 'running' : latest.role === 'failed' ? 'failed' : 'done';
    const seconds = (Date.parse(latest.finished_at ?? iso()) - Date.parse(latest.started_at)) / 1000;
    return {
      generation: latest.generation,
      state,
      eventsProjected: latest.events_projected,
      startedAt: state === 'idle' ? null : latest.started_at,
      finishedAt: latest.finished_at,
      eventsPerSecond: state === 'idle' || seconds <= 0 ? null : Math.round(latest.events_projected / seconds),
      lag,
      error: latest.error,
    };
  }

  return {
    caughtUp: () => startedLive.subscription.caughtUp(),
    onOrderChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async startRebuild() {
      if (rebuild) return undefined;
      const generation = await beginRebuild(db, iso());
      if (!generation) return undefined;
      logger.info({ generation: generation.generation }, 'read model rebuild started');
      follow(generation, await consume(generation));
      return progress();
    },
    rebuildProgress: progress,
    rebuildSettled: () => rebuild?.settled ?? Promise.resolve(),
  };
}

/** The lag metric's group label: the serving copy's, whichever generation that is. */
const FIRST_LAG_LABEL = 'status';
