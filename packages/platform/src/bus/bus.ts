/**
 * The bus port. Adapters: embedded (in-process, persisted in SQLite), Kafka, NATS
 * JetStream. All give the same guarantees: order within a key, at-least-once
 * delivery per consumer group, offsets committed only after the handler returned,
 * retries with backoff, then the dead-letter topic.
 */
export interface BusMessage {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface BusRecord extends BusMessage {
  partition: number;
  /** Kafka offsets are 64-bit; kept as a decimal string so every adapter can use it. */
  offset: string;
  /** Append time, epoch milliseconds. */
  timestamp: number;
}

export interface RetryPolicy {
  /** Total attempts, the first included. */
  maxAttempts: number;
  /** Delay before attempt n+1 is initialBackoffMs * 2^(n-1), capped at maxBackoffMs. */
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 200, maxBackoffMs: 5_000 };

export interface SubscribeOptions {
  group: string;
  topics: readonly string[];
  /** Where a group with no committed offset starts. Default true (earliest). */
  fromBeginning?: boolean;
  /**
   * Read every topic from the start on each subscribe and commit nothing: for read
   * models that rebuild themselves from the log.
   */
  replay?: boolean;
  retry?: RetryPolicy;
  handle(record: BusRecord): Promise<void>;
  /**
   * Optional: handles several records of one partition at once, in their order (the event
   * consumer does it in one database transaction). Resolves with how many of them, from the
   * first, were handled and committed. When that is fewer than all, `error` is why the next
   * one failed: that record goes on alone through `handle` with the usual retries and the
   * dead-letter topic (its failure here counts as its first attempt), and the records after
   * it are offered again afterwards. Adapters call it through deliverAll (delivery.ts).
   */
  handleBatch?(records: readonly BusRecord[]): Promise<BatchOutcome>;
  /** Most records in one handleBatch call (BUS_BATCH_MAX). Default DEFAULT_BATCH_MAX. */
  batchMax?: number;
  /**
   * Optional: records whose event-type header names one of these are acknowledged without
   * calling `handle` (types the subscriber knows and ignores). An adapter may skip them
   * before delivery (the embedded broker does) or deliver them anyway.
   */
  ignoredTypes?: ReadonlySet<string>;
  onRetry?(record: BusRecord, attempt: number, error: unknown): void;
  /** Called after the record was written to `<topic>.DLT`, before its offset is committed. */
  onDeadLetter?(record: BusRecord, error: unknown, attempts: number): Promise<void>;
}

export interface BatchOutcome {
  /** Records handled and committed, a prefix of the batch. */
  handled: number;
  /** Why the record after them failed (set when handled is less than the batch). */
  error?: unknown;
}

export const DEFAULT_BATCH_MAX = 100;

export interface Subscription {
  /** Lets the record in flight finish, then leaves the group. */
  close(): Promise<void>;
  /** Resolves once every record present at subscribe time has been handled. */
  caughtUp(): Promise<void>;
  /**
   * The group's lag: per partition of its topics, records after the group's committed
   * position (the one in flight included). A replay counts from what it has handled.
   */
  lag(): Promise<PartitionLag[]>;
}

export interface PartitionLag {
  topic: string;
  /** null when the broker reports the topic as a whole (a NATS replay). */
  partition: number | null;
  records: number;
}

export interface Bus {
  readonly kind: 'embedded' | 'kafka' | 'nats';
  ensureTopics(topics: readonly string[]): Promise<void>;
  /** Resolves once every message is durably appended, in the order given. */
  publish(messages: readonly BusMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Every record of a topic from the beginning (admin views of dead-letter topics). */
  readAll(topic: string): Promise<BusRecord[]>;
  /** The broker answers and every subscription is consuming (not joining, crashed or cut off): a service's /ready. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

type Handle = SubscribeOptions['handle'];
type HandleBatch = NonNullable<SubscribeOptions['handleBatch']>;

/**
 * `bus` with every subscriber's handlers passed through `wrap` (something done around
 * each delivery: waiting out a database outage, a simulated carrier call); the rest is `bus`'s.
 */
export function wrapHandlers(bus: Bus, wrap: { handle(handle: Handle): Handle; handleBatch(handleBatch: HandleBatch): HandleBatch }): Bus {
  return {
    kind: bus.kind,
    ensureTopics: (topics) => bus.ensureTopics(topics),
    publish: (messages) => bus.publish(messages),
    subscribe: (options) =>
      bus.subscribe({
        ...options,
        handle: wrap.handle(options.handle),
        ...(options.handleBatch ? { handleBatch: wrap.handleBatch(options.handleBatch) } : {}),
      }),
    readAll: (topic) => bus.readAll(topic),
    isReady: () => bus.isReady(),
    close: () => bus.close(),
  };
}

/** How an adapter sees its own subscriptions: isReady() is false while one is not consuming. */
export interface TrackedSubscription extends Subscription {
  isConsuming(): boolean;
}

/** A record that can never succeed (unparseable): dead-lettered without retries. */
export class PoisonRecordError extends Error {
  override readonly name = 'PoisonRecordError';
}
