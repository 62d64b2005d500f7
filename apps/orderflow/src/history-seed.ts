import { join } from 'node:path';
import { EVENT_TOPICS, EventSchemas, isEventType } from '@orderflow/contracts';
import { type BusMessage, type Config, createBus, loadCatalog } from '@orderflow/platform';
import Database from 'better-sqlite3';
import { type HistoryOutcome, historyWriter } from './history-events.ts';

/**
 * The consumer groups of every service but status in choreography (each service's main.ts
 * names its group after itself). Seeding places them at the end of what it wrote, as if
 * they had handled it, so that only the status service reads the history.
 */
export const HANDLED_BY_GROUPS = ['order', 'inventory', 'payment', 'shipping', 'notification'] as const;

/** Orders written per bus.publish: one SQLite transaction on the embedded broker. */
const CHUNK_ORDERS = 5_000;
/**
 * Publishes in flight at once. NATS acknowledges each record, one after another per
 * partition within a publish: several chunks at once keep more of them on the way. Safe
 * for the order of each key, since an order's events are all in one chunk.
 */
const CHUNKS_IN_FLIGHT = 4;
/** Every event of the first orders is parsed with its contract schema, then one order in this many. */
const VALIDATE_FIRST = 1_000;
const VALIDATE_EVERY = 100;
/** Known orders kept for the queries and the checks: all of a small history, an even sample of a large one. */
const SAMPLE_MAX = 10_000;
/** History orders are this far apart, the last one just before now. */
const ORDER_SPACING_MS = 20;

export interface SeededHistory {
  orders: number;
  events: number;
  byOutcome: Record<HistoryOutcome, number>;
  /** Known orders and how each ended (all of them up to SAMPLE_MAX, else an even sample). */
  sample: { orderId: string; outcome: HistoryOutcome }[];
  seconds: number;
}

/**
 * Writes `count` orders of history straight into the log of the broker `config` names
 * (the embedded broker's SQLite file, or NATS JetStream streams under its prefix), through
 * the bus adapter's own publish, and sets the positions of HANDLED_BY_GROUPS at its end.
 * Run it before the system starts: the embedded broker's file belongs to one process.
 */
export async function seedHistory(config: Config, count: number, onProgress?: (written: number) => void): Promise<SeededHistory> {
  if (config.bus.kind === 'kafka') throw new Error('--history writes to the embedded broker or NATS JetStream; Kafka is not supported yet');
  if (config.sagaMode !== 'choreography') throw new Error('--history writes choreography events: use --mode choreography');
  const startedAt = performance.now();
  const writer = historyWriter(loadCatalog(config.catalogFile));
  const bus = createBus(config);
  const byOutcome: Record<HistoryOutcome, number> = { COMPLETED: 0, PAYMENT_FAILED: 0, CANCELLED_NO_STOCK: 0 };
  const sample: SeededHistory['sample'] = [];
  const sampleEvery = Math.max(1, Math.ceil(count / SAMPLE_MAX));
  let events = 0;
  try {
    await bus.ensureTopics(EVENT_TOPICS);
    const restocks = writer.restocks();
    await bus.publish(restocks);
    events += restocks.length;
    const firstAt = Date.now() - count * ORDER_SPACING_MS;
    const inFlight = new Set<Promise<void>>();
    for (let from = 0; from < count; from += CHUNK_ORDERS) {
      const chunk: BusMessage[] = [];
      for (let index = from; index < Math.min(count, from + CHUNK_ORDERS); index++) {
        const order = writer.order(index, new Date(firstAt + index * ORDER_SPACING_MS));
        if (index < VALIDATE_FIRST || index % VALIDATE_EVERY === 0) for (const message of order.messages) assertValid(message);
        byOutcome[order.outcome]++;
        if (index % sampleEvery === 0) sample.push({ orderId: order.orderId, outcome: order.outcome });
        chunk.push(...order.messages);
      }
      const written = Math.min(count, from + CHUNK_ORDERS);
      const publishing = bus.publish(chunk).then(() => {
        events += chunk.length;
        onProgress?.(written);
      });
      inFlight.add(publishing);
      void publishing.finally(() => inFlight.delete(publishing)).catch(() => undefined);
      if (inFlight.size >= CHUNKS_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (config.bus.kind === 'nats') {
      // A new durable group with fromBeginning false starts after the last record (JetStream's
      // DeliverPolicy.New) and an existing one keeps its position: the services' groups then read on from there.
      for (const group of HANDLED_BY_GROUPS) {
        const subscription = await bus.subscribe({ group, topics: EVENT_TOPICS, fromBeginning: false, handle: async () => undefined });
        await subscription.close();
      }
    }
  } finally {
    await bus.close();
  }
  // The embedded broker commits a group's position only after it handled a record: written here, in its file.
  if (config.bus.kind === 'embedded') placeEmbeddedGroupsAtEnd(join(config.dataDir, 'broker.db'));
  return { orders: count, events, byOutcome, sample, seconds: (performance.now() - startedAt) / 1000 };
}

function assertValid(message: BusMessage) {
  const type = message.headers['event-type'] ?? '';
  if (!isEventType(type)) throw new Error(`history wrote an unknown event type ${type}`);
  const parsed = EventSchemas[type].safeParse(JSON.parse(message.value));
  if (!parsed.success) throw new Error(`history wrote an invalid ${type}: ${parsed.error.message}`);
}

/** Each HANDLED_BY_GROUPS group's next offset, on every partition of every event topic, is the partition's end. */
function placeEmbeddedGroupsAtEnd(file: string) {
  const sqlite = new Database(file);
  try {
    const ends = sqlite
      .prepare<[], { topic: string; partition: number; next: number }>('SELECT topic, partition, MAX(offset) + 1 AS next FROM records GROUP BY topic, partition')
      .all()
      .filter((end) => (EVENT_TOPICS as readonly string[]).includes(end.topic));
    const upsert = sqlite.prepare(
      `INSERT INTO group_offsets (group_id, topic, partition, next_offset) VALUES (?, ?, ?, ?)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset`,
    );
    sqlite.transaction(() => {
      for (const group of HANDLED_BY_GROUPS) for (const end of ends) upsert.run(group, end.topic, end.partition, end.next);
    })();
  } finally {
    sqlite.close();
  }
}
