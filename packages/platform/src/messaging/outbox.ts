import type { OrderflowEvent } from '@orderflow/contracts';
import type { Kysely, QueryCreator } from 'kysely';
import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.ts';
import type { PlatformTables } from '../database/platform-tables.ts';
import { toBusMessage } from './event-factory.ts';

/** Writes events to the outbox inside the caller's transaction: they commit with the state. */
export async function appendToOutbox(
  // Any service's transaction: every service schema includes PlatformTables, but
  // Kysely's database type is invariant, so it is taken untyped and narrowed here.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  trx: Kysely<any>,
  events: readonly OrderflowEvent[],
  parentTraceparent?: string,
): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((event) => {
    const message = toBusMessage(event, parentTraceparent);
    return { topic: message.topic, key: message.key, value: message.value, headers: JSON.stringify(message.headers) };
  });
  await (trx as unknown as QueryCreator<PlatformTables>).insertInto('outbox').values(rows).execute();
}

export interface OutboxRelay {
  /** Publish what is in the outbox now (called right after a commit). */
  wake(): void;
  /** Resolves when the outbox is empty or the relay is stopped. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

const BATCH = 500;

/**
 * Publishes outbox rows in id order, then deletes them. Woken right after each commit,
 * so the happy path has no polling delay; a timer also retries what a failed publish
 * (broker down) or a crash left behind. A row is deleted only after the broker has it,
 * so delivery is at least once: a crash between publish and delete publishes the row
 * again, and consumers drop the duplicate by event id.
 */
export function startOutboxRelay(
  db: Kysely<PlatformTables>,
  bus: Bus,
  logger: Logger,
  options: { pollMs?: number; onPublished?: (count: number) => void } = {},
): OutboxRelay {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let failures = 0;

  async function publishPending(): Promise<void> {
    for (;;) {
      const rows = await db.selectFrom('outbox').selectAll().orderBy('id').limit(BATCH).execute();
      if (rows.length === 0) return;
      await bus.publish(
        rows.map((r) => ({ topic: r.topic, key: r.key, value: r.value, headers: JSON.parse(r.headers) as Record<string, string> })),
      );
      await db
        .deleteFrom('outbox')
        .where('id', 'in', rows.map((r) => r.id))
        .execute();
      options.onPublished?.(rows.length);
      if (rows.length < BATCH) return;
    }
  }

  function wake() {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await publishPending();
          failures = 0;
        } catch (error) {
          failures++;
          logger.warn({ err: error, failures }, 'outbox relay could not publish; will retry');
          await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** failures)));
          again = !stopped;
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  }

  const timer = setInterval(wake, options.pollMs ?? 1_000);
  timer.unref();
  wake();

  return {
    wake,
    async drain() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (running) await running;
    },
  };
}
