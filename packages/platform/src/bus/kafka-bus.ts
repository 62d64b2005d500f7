import { randomUUID } from 'node:crypto';
import { deadLetterTopic } from '@orderflow/contracts';
// kafkajs is CommonJS: take its runtime values from the default export. Only this module
// knows kafkajs, so @confluentinc/kafka-javascript's KafkaJS-compatible API can replace it.
import kafkajs from 'kafkajs';
import type { Admin, Consumer, IHeaders, KafkaMessage, Message, SASLOptions } from 'kafkajs';
import type { Bus, BusRecord, PartitionLag, Subscription } from './bus.ts';
import { DEFAULT_RETRY } from './bus.ts';
import { deliver } from './delivery.ts';

const { Kafka, Partitioners, logLevel } = kafkajs;

export interface KafkaBusOptions {
  brokers: readonly string[];
  clientId?: string;
  /** Partitions of the topics this bus creates; existing topics keep theirs. */
  partitions?: number;
  replicationFactor?: number;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Partitions one subscription handles at the same time (each still in order). Default 4. */
  partitionsConsumedConcurrently?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const headerText = (value: IHeaders[string]): string | undefined => {
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === undefined ? undefined : last.toString();
};

const toRecord = (topic: string, partition: number, message: KafkaMessage): BusRecord => {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? '',
    value: message.value?.toString() ?? '',
    headers,
    timestamp: Number(message.timestamp),
  };
};

function saslOptions({ mechanism, username, password }: NonNullable<KafkaBusOptions['sasl']>): SASLOptions {
  switch (mechanism) {
    case 'plain':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'scram-sha-512':
      return { mechanism, username, password };
  }
}

/** Connects once; a failed attempt is forgotten so that the next call tries again. */
const connectOnce = (connect: () => Promise<void>) => {
  let connecting: Promise<void> | undefined;
  return () =>
    (connecting ??= connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    }));
};

/**
 * Apache Kafka (2.4 to 4.x, Redpanda, MSK) through kafkajs. Topics are provisioned
 * idempotently with infinite retention (the log is the system's memory, replays read it
 * all) and a `<topic>.DLT` each. The producer is idempotent with one request in flight
 * and acks from all replicas, so a retried send neither duplicates nor reorders a
 * partition. A subscription is one consumer in the group with auto-commit off: the
 * offset after a record is committed only once its handler returned (or the record was
 * dead-lettered), so a crash redelivers it (at-least-once; consumers dedupe by event id).
 * A rebalance during a handler can also redeliver: the commit then fails and the new
 * owner starts from the last committed offset.
 */
export function createKafkaBus(options: KafkaBusOptions): Bus {
  const clientId = options.clientId ?? 'orderflow';
  const sasl = options.sasl ? saslOptions(options.sasl) : undefined;
  const kafka = new Kafka({
    clientId,
    brokers: [...options.brokers],
    ssl: options.ssl ?? false,
    ...(sasl ? { sasl } : {}),
    logLevel: logLevel.WARN,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // murmur2 like the Java client and partitioner.ts: an order lands on the same partition everywhere.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const adminConnected = connectOnce(() => admin.connect());
  const producerConnected = connectOnce(() => producer.connect());
  const connectedAdmin = async (): Promise<Admin> => {
    await adminConnected();
    return admin;
  };

  let closed = false;
  const known = new Set<string>();
  const subscriptions = new Set<Subscription>();

  const ensureTopics = async (topics: readonly string[]) => {
    const wanted = new Set(topics.flatMap((t) => (t.endsWith('.DLT') ? [t] : [t, deadLetterTopic(t)])));
    if ([...wanted].every((t) => known.has(t))) return;
    const a = await connectedAdmin();
    const existing = new Set(await a.listTopics());
    const missing = [...wanted].filter((t) => !existing.has(t));
    if (missing.length > 0) {
      // kafkajs resolves false when every topic already existed (TOPIC_ALREADY_EXISTS), and
      // the listing above keeps a concurrent creation by another service from failing us.
      await a.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: options.partitions ?? 3,
          replicationFactor: options.replicationFactor ?? 1,
          configEntries: [{ name: 'retention.ms', value: '-1' }],
        })),
      });
    }
    for (const t of wanted) known.add(t);
  };

  /** Each partition's first (low) and next (high) offset. */
  const watermarks = async (topics: readonly string[]) => {
    const a = await connectedAdmin();
    const marks: { topic: string; partition: number; low: bigint; high: bigint }[] = [];
    for (const topic of topics) {
      for (const p of await a.fetchTopicOffsets(topic)) marks.push({ topic, partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) });
    }
    return marks;
  };

  /** Each partition's end (the next offset) for partitions holding records, keyed `topic/partition`. */
  const endOffsets = async (topics: readonly string[]) =>
    new Map((await watermarks(topics)).filter((m) => m.high > m.low).map((m) => [`${m.topic}/${m.partition}`, m.high]));

  const committedOffsets = async (groupId: string, topics: readonly string[]) => {
    const committed = new Map<string, bigint>();
    for (const entry of await (await connectedAdmin()).fetchOffsets({ groupId, topics: [...topics] })) {
      for (const p of entry.partitions) committed.set(`${entry.topic}/${p.partition}`, BigInt(p.offset));
    }
    return committed;
  };

  const bus: Bus = {
    kind: 'kafka',
    ensureTopics,
    async publish(messages) {
      if (closed) throw new Error('bus is closed');
      if (messages.length === 0) return;
      await ensureTopics([...new Set(messages.map((m) => m.topic))]);
      await producerConnected();
      // One request: with an idempotent producer and one request in flight, a partition
      // receives these records in the order given, exactly once.
      const byTopic = new Map<string, Message[]>();
      for (const m of messages) {
        const list = byTopic.get(m.topic) ?? [];
        list.push({ key: m.key, value: m.value, headers: { ...m.headers } });
        byTopic.set(m.topic, list);
      }
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })) });
    },
    async subscribe(subscribeOptions) {
      if (closed) throw new Error('bus is closed');
      await ensureTopics(subscribeOptions.topics);
      const topics = [...subscribeOptions.topics];
      const replay = subscribeOptions.replay ?? false;
      // A replay is a group of its own that starts at the beginning and never commits.
      const groupId = replay ? `${subscribeOptions.group}.replay.${randomUUID()}` : subscribeOptions.group;
      const fromBeginning = replay || (subscribeOptions.fromBeginning ?? true);
      const retry = subscribeOptions.retry ?? DEFAULT_RETRY;

      // What caughtUp() waits for: the end of each partition now, minus the partitions the
      // group is already past or (fromBeginning false, nothing committed) will start after.
      const targets = await endOffsets(topics);
      if (!replay) {
        for (const [tp, position] of await committedOffsets(groupId, topics)) {
          const end = targets.get(tp);
          if (end === undefined) continue;
          if (position >= end || (position < 0n && !fromBeginning)) targets.delete(tp);
        }
      }
      const positions = new Map<string, bigint>();

      let closing = false;
      const consumer: Consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
        eachMessage: async ({ topic, partition, message, heartbeat }) => {
          // Leaving: not handled, not committed; the partition's next owner starts here.
          if (closing || closed) return;
          const record = toRecord(topic, partition, message);
          const outcome = await deliver(record, subscribeOptions.group, subscribeOptions.handle, retry, {
            publish: (out) => bus.publish(out),
            isClosing: () => closing || closed,
            onRetry: (r, attempt, error) => {
              void heartbeat().catch(() => undefined); // backoff can outlast a session timeout
              subscribeOptions.onRetry?.(r, attempt, error);
            },
            onDeadLetter: subscribeOptions.onDeadLetter,
          });
          if (outcome === 'aborted') return;
          const next = BigInt(message.offset) + 1n;
          if (!replay) await consumer.commitOffsets([{ topic, partition, offset: next.toString() }]);
          positions.set(`${topic}/${partition}`, next);
        },
      });

      const subscription: Subscription = {
        async close() {
          if (closing) return;
          closing = true;
          await consumer.disconnect(); // waits for the eachMessage in flight
          subscriptions.delete(subscription);
          if (replay) await admin.deleteGroups([groupId]).catch(() => undefined);
        },
        async lag(): Promise<PartitionLag[]> {
          // A replay commits nothing: its position is what this process handled.
          const committed = replay ? positions : await committedOffsets(groupId, topics);
          return (await watermarks(topics)).map(({ topic, partition, low, high }) => {
            const position = committed.get(`${topic}/${partition}`) ?? -1n;
            const from = position >= 0n ? position : fromBeginning ? low : high;
            return { topic, partition, records: Number(high > from ? high - from : 0n) };
          });
        },
        async caughtUp() {
          for (let round = 0; ; round++) {
            for (const [tp, end] of targets) if ((positions.get(tp) ?? -1n) >= end) targets.delete(tp);
            if (targets.size === 0 || closing || closed) return;
            if (!replay && round % 10 === 9) {
              // Other members of the group own some partitions: their commits count too.
              const committed = await committedOffsets(groupId, topics).catch(() => new Map<string, bigint>());
              for (const [tp, end] of targets) if ((committed.get(tp) ?? -1n) >= end) targets.delete(tp);
            }
            await sleep(50);
          }
        },
      };
      subscriptions.add(subscription);
      return subscription;
    },
    async readAll(topic) {
      const a = await connectedAdmin();
      if (!(await a.listTopics()).includes(topic)) return [];
      const ends = new Map([...(await endOffsets([topic]))].map(([tp, end]) => [Number(tp.slice(tp.lastIndexOf('/') + 1)), end]));
      if (ends.size === 0) return [];
      const groupId = `${clientId}.read-all.${randomUUID()}`;
      const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
      const records: BusRecord[] = [];
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`readAll(${topic}) timed out`)), 60_000);
          consumer
            .run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                const end = ends.get(partition);
                const offset = BigInt(message.offset);
                if (end === undefined || offset >= end) return;
                records.push(toRecord(topic, partition, message));
                if (offset + 1n >= end) ends.delete(partition);
                if (ends.size === 0) {
                  clearTimeout(timer);
                  resolve();
                }
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect().catch(() => undefined);
        await a.deleteGroups([groupId]).catch(() => undefined);
      }
      return records.sort(
        (x, y) => x.timestamp - y.timestamp || x.partition - y.partition || Number(BigInt(x.offset) - BigInt(y.offset)),
      );
    },
    async isReady() {
      if (closed) return false;
      const check = connectedAdmin().then(async (a) => (await a.describeCluster()).brokers.length > 0);
      return Promise.race([check, sleep(5_000).then(() => false)]).catch(() => false);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.close()));
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
  return bus;
}
