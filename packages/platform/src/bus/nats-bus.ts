import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, connect, headers as natsHeaders, nanos } from '@nats-io/transport-node';
import { deadLetterTopic } from '@orderflow/contracts';
import type { Bus, BusMessage, BusRecord, PartitionLag, SubscribeOptions, TrackedSubscription } from './bus.ts';
import { DEFAULT_RETRY } from './bus.ts';
import { type DeliveryHooks, deliver } from './delivery.ts';
import { partitionFor } from './partitioner.ts';

export interface NatsBusOptions {
  /** One server or a comma-separated list, e.g. nats://127.0.0.1:4222. */
  url: string;
  /** First subject token and stream-name prefix, so several systems (or test runs) share one server. */
  streamPrefix?: string;
  /** Partitions of a stream created by this bus; an existing stream keeps its own count. */
  partitions?: number;
  replicas?: number;
  /** max_age of the streams this bus creates (BROKER_RETENTION); undefined: 0, forever. Existing streams keep theirs. */
  retentionMs?: number | undefined;
  /** How long a delivered record may stay unacknowledged before JetStream redelivers it. */
  ackWaitMs?: number;
  clientName?: string;
}

/** The record key travels in this header (NATS messages have no key); it is not shown to handlers. */
const KEY_HEADER = 'orderflow-key';
/**
 * Lifetime of a pull request. Short, because a request outlives its member's departure
 * on the server: a record sent to it stays unacknowledged until ackWaitMs has passed.
 */
const PULL_EXPIRES_MS = 5_000;
const PARTITIONS_MARK = /partitions=(\d+)/;
interface TopicMeta {
  topic: string;
  stream: string;
  partitions: number;
}

interface Clients {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** A stream or consumer name: no dots, wildcards, spaces or path separators. */
const nameToken = (value: string) => value.replace(/[^A-Za-z0-9_-]/g, '_');
const TOPIC_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const isNotFound = (error: unknown, code: number) => error instanceof JetStreamApiError && error.code === code;

/**
 * NATS JetStream with Kafka's semantics (document 003's broker). A topic is a stream
 * whose subjects are `<prefix>.<topic>.<partition>`; a key picks its partition with
 * Kafka's murmur2, so one order's events stay in one subject, in order. A consumer
 * group is one durable pull consumer per (group, topic, partition) with explicit
 * acks and max_ack_pending 1: JetStream hands the next record of a partition out only
 * after the previous one was acknowledged, so members of a group share the work while
 * a partition is still handled one record at a time, in order. The ack is sent after
 * the handler returned (at-least-once); an unacknowledged record is redelivered after
 * ackWaitMs. So a subscriber's handleBatch is not used here: every batch is of one record.
 * Batches would need max_ack_pending above 1, and then JetStream hands a partition's next
 * records to another member of the group while the first still handles the earlier ones,
 * which breaks the partition's order; a consumer with one active member at a time (a
 * pinned priority group) needs nats-server 2.11, and this system runs 2.9. Streams keep everything by default (limits retention, no max age):
 * the log is the system's memory and replays read it from the start with an ordered consumer; with retentionMs
 * a stream is created with that max_age, and a consumer behind the first kept record continues from it.
 */
export function createNatsBus(options: NatsBusOptions): Bus {
  const prefix = nameToken(options.streamPrefix ?? 'orderflow');
  const defaultPartitions = options.partitions ?? 3;
  const ackWaitMs = options.ackWaitMs ?? 10_000;
  let closed = false;
  const servers = options.url.split(',').map((s) => s.trim());
  /** Called after the client reconnected (the server restarted, or the connection was lost and found again). */
  const onReconnect = new Set<() => void>();

  // createBus is synchronous: connect in the background and let every call wait for it.
  // Until the server is first reached this keeps trying (readiness says so), and stops on close().
  const clients: Promise<Clients> = (async () => {
    for (;;) {
      if (closed) throw new Error('bus is closed');
      try {
        const nc = await connect({ servers, name: options.clientName ?? 'orderflow', maxReconnectAttempts: -1 });
        try {
          const jsm = await jetstreamManager(nc); // fails when the server runs without JetStream
          if (closed) throw new Error('bus is closed');
          void (async () => {
            for await (const status of nc.status()) if (status.type === 'reconnect') for (const listener of onReconnect) listener();
          })().catch(() => undefined);
          return { nc, js: jetstream(nc), jsm };
        } catch (error) {
          await nc.close();
          throw error;
        }
      } catch (error) {
        if (closed) throw error;
        await sleep(1_000);
      }
    }
  })();
  clients.catch(() => undefined); // surfaced by the calls that await it

  const subjectOf = (topic: string, partition: number) => `${prefix}.${topic}.${partition}`;
  const streamOf = (topic: string) => `${prefix}_${nameToken(topic)}`;

  const provisioned = new Map<string, Promise<TopicMeta>>();
  const provision = async (topic: string): Promise<TopicMeta> => {
    if (!TOPIC_NAME.test(topic)) throw new Error(`invalid topic name for NATS: ${topic}`);
    const { jsm } = await clients;
    const stream = streamOf(topic);
    const metaOf = (description: string | undefined): TopicMeta => ({
      topic,
      stream,
      partitions: Number(PARTITIONS_MARK.exec(description ?? '')?.[1] ?? defaultPartitions),
    });
    try {
      return metaOf((await jsm.streams.info(stream)).config.description);
    } catch (error) {
      if (!isNotFound(error, JetStreamApiCodes.StreamNotFound)) throw error;
    }
    try {
      const info = await jsm.streams.add({
        name: stream,
        subjects: [`${prefix}.${topic}.*`],
        // The partition count is part of the topic, as in Kafka: every process reads it from here.
        description: `orderflow topic ${topic}; partitions=${defaultPartitions}`,
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_age: options.retentionMs === undefined ? 0 : nanos(options.retentionMs),
        max_msgs: -1,
        max_bytes: -1,
        num_replicas: options.replicas ?? 1,
      });
      return metaOf(info.config.description);
    } catch (error) {
      // Another process created it in between: use theirs.
      return metaOf((await jsm.streams.info(stream).catch(() => Promise.reject(error))).config.description);
    }
  };
  const topicMeta = (topic: string): Promise<TopicMeta> => {
    let meta = provisioned.get(topic);
    if (!meta) {
      meta = provision(topic);
      provisioned.set(topic, meta);
      meta.catch(() => provisioned.delete(topic)); // try again on the next call
    }
    return meta;
  };

  const toRecord = (topic: string, m: JsMsg): BusRecord => {
    const headers: Record<string, string> = {};
    let key = '';
    for (const [name, values] of m.headers ?? []) {
      const value = values[values.length - 1] ?? '';
      if (name === KEY_HEADER) key = value;
      else headers[name] = value;
    }
    return {
      topic,
      partition: Number(m.subject.slice(m.subject.lastIndexOf('.') + 1)),
      // The stream sequence: increasing within a partition, though not consecutive as in Kafka.
      offset: String(m.seq),
      key,
      value: new TextDecoder().decode(m.data),
      headers,
      timestamp: m.time.getTime(),
    };
  };

  const publishOne = async (js: JetStreamClient, subject: string, message: BusMessage) => {
    const h = natsHeaders();
    h.set(KEY_HEADER, message.key);
    // NATS header values are single lines: a line break (only ever seen in error texts) becomes a space.
    for (const [name, value] of Object.entries(message.headers)) h.set(name, value.replace(/\r\n|\r|\n/g, ' '));
    await js.publish(subject, message.value, { headers: h });
  };

  const subscriptions = new Set<TrackedSubscription>();

  const bus: Bus = {
    kind: 'nats',
    async ensureTopics(topics) {
      const all = new Set(topics.flatMap((t) => (t.endsWith('.DLT') ? [t] : [t, deadLetterTopic(t)])));
      await Promise.all([...all].map(topicMeta));
    },
    async publish(messages) {
      if (closed) throw new Error('bus is closed');
      if (messages.length === 0) return;
      const { js } = await clients;
      const metas = new Map<string, TopicMeta>();
      for (const topic of new Set(messages.map((m) => m.topic))) metas.set(topic, await topicMeta(topic));
      // One chain per partition: a record is sent after the previous one of its partition
      // was stored, so order within a partition holds even when a publish fails midway,
      // while different partitions are written concurrently.
      const chains = new Map<string, Promise<void>>();
      for (const message of messages) {
        const subject = subjectOf(message.topic, partitionFor(message.key, metas.get(message.topic)!.partitions));
        const previous = chains.get(subject) ?? Promise.resolve();
        chains.set(subject, previous.then(() => publishOne(js, subject, message)));
      }
      await Promise.all(chains.values());
    },
    async subscribe(subscribeOptions) {
      if (closed) throw new Error('bus is closed');
      const metas = await Promise.all(subscribeOptions.topics.map(topicMeta));
      const subscription = subscribeOptions.replay
        ? await replaySubscription(metas, subscribeOptions)
        : await groupSubscription(metas, subscribeOptions);
      subscriptions.add(subscription);
      return {
        caughtUp: () => subscription.caughtUp(),
        lag: () => subscription.lag(),
        close: async () => {
          await subscription.close();
          subscriptions.delete(subscription);
        },
      };
    },
    async readAll(topic) {
      const { js, jsm } = await clients;
      const stream = streamOf(topic);
      let last: number;
      try {
        const info = await jsm.streams.info(stream);
        if (info.state.messages === 0) return [];
        last = info.state.last_seq;
      } catch (error) {
        if (isNotFound(error, JetStreamApiCodes.StreamNotFound)) return [];
        throw error;
      }
      const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      const messages = await consumer.consume();
      const timer = setTimeout(() => messages.stop(new Error(`readAll(${topic}) timed out`)), 30_000);
      const records: BusRecord[] = [];
      try {
        for await (const m of messages) {
          records.push(toRecord(topic, m));
          if (m.seq >= last) break;
        }
      } finally {
        clearTimeout(timer);
        await messages.close();
      }
      return records;
    },
    async isReady() {
      if (closed) return false;
      if ([...subscriptions].some((s) => !s.isConsuming())) return false;
      const check = clients.then(async ({ nc, jsm }) => !nc.isClosed() && (await jsm.getAccountInfo()) !== undefined);
      const timeout = sleep(3_000).then(() => false);
      return Promise.race([check, timeout]).catch(() => false);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.close()));
      const connected = await Promise.race([clients, sleep(0).then(() => undefined)]).catch(() => undefined);
      if (connected) await connected.nc.drain().catch(() => connected.nc.close());
    },
  };

  const hooksFor = (subscribeOptions: SubscribeOptions, isClosing: () => boolean): DeliveryHooks => ({
    publish: (messages) => bus.publish(messages),
    isClosing: () => isClosing() || closed,
    onRetry: subscribeOptions.onRetry,
    onDeadLetter: subscribeOptions.onDeadLetter,
  });

  /** A durable consumer per (group, topic, partition), shared by every member of the group. */
  async function groupSubscription(metas: TopicMeta[], subscribeOptions: SubscribeOptions): Promise<TrackedSubscription> {
    const { nc, js, jsm } = await clients;
    const retry = subscribeOptions.retry ?? DEFAULT_RETRY;
    const fromBeginning = subscribeOptions.fromBeginning ?? true;
    let closing = false;
    const hooks = hooksFor(subscribeOptions, () => closing);

    interface PartitionTarget {
      topic: string;
      partition: number;
      consumer: Consumer;
      /** Stream sequence of the partition's last record at subscribe time; 0 when empty. */
      end: number;
      handled: number;
    }
    const targets: PartitionTarget[] = [];
    for (const meta of metas) {
      for (let partition = 0; partition < meta.partitions; partition++) {
        const name = `${nameToken(subscribeOptions.group)}_${partition}`;
        const config = {
          durable_name: name,
          filter_subject: subjectOf(meta.topic, partition),
          ack_policy: AckPolicy.Explicit,
          // One unacknowledged record per partition: the group handles a partition in order.
          max_ack_pending: 1,
          ack_wait: nanos(ackWaitMs),
          max_deliver: -1,
          deliver_policy: fromBeginning ? DeliverPolicy.All : DeliverPolicy.New,
        };
        // An existing durable keeps its position and configuration (as a Kafka group keeps its offsets).
        await jsm.consumers.info(meta.stream, name).catch(async (error: unknown) => {
          if (!isNotFound(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
          await jsm.consumers.add(meta.stream, config).catch(() => jsm.consumers.info(meta.stream, name));
        });
        const last = await jsm.streams.getMessage(meta.stream, { last_by_subj: subjectOf(meta.topic, partition) });
        targets.push({ topic: meta.topic, partition, consumer: await js.consumers.get(meta.stream, name), end: last?.seq ?? 0, handled: 0 });
      }
    }

    const iterators = new Set<ConsumerMessages>();
    /**
     * Hands a record this member will not finish back to the group. Not at once: the
     * server may still hold this member's pull requests (seen with nats-server 2.9 right
     * after the subscription went) and would send the record straight back to them, so
     * the redelivery waits until those requests have expired.
     */
    const giveBack = async (messages: ConsumerMessages, m: JsMsg) => {
      messages.stop();
      m.nak(PULL_EXPIRES_MS + 500);
      await nc.flush().catch(() => undefined);
    };
    /** Partitions whose pull failed or whose consumer is missing on the server (the client waits for it to come back). */
    const failing = new Set<PartitionTarget>();
    const watchConsumer = (messages: ConsumerMessages, target: PartitionTarget) =>
      void (async () => {
        for await (const status of messages.status()) {
          if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found' || status.type === 'stream_not_found') failing.add(target);
          else if (status.type === 'heartbeat') failing.delete(target);
        }
      })().catch(() => undefined);
    const runPartition = async (target: PartitionTarget) => {
      while (!closing && !closed) {
        let messages: ConsumerMessages | undefined;
        try {
          messages = await target.consumer.consume({ max_messages: 8, expires: PULL_EXPIRES_MS });
          failing.delete(target);
          watchConsumer(messages, target);
          iterators.add(messages);
          if (closing || closed) messages.stop(); // close() ran while the pull was being set up
          for await (const m of messages) {
            if (closing || closed) {
              await giveBack(messages, m);
              break;
            }
            failing.delete(target);
            const record = toRecord(target.topic, m);
            // Tells JetStream the record is still being worked on, so a slow handler is not redelivered.
            const working = setInterval(() => m.working(), Math.max(1_000, ackWaitMs / 3));
            let outcome;
            try {
              outcome = await deliver(record, subscribeOptions.group, subscribeOptions.handle, retry, hooks);
            } catch {
              // Writing the dead letter failed: leave the record to be redelivered later.
              m.nak(retry.maxBackoffMs);
              continue;
            } finally {
              clearInterval(working);
            }
            if (outcome === 'aborted') {
              await giveBack(messages, m);
              break;
            }
            // Not ackAck: waiting for the server's confirmation costs a round trip and a reply
            // per record. An ack lost with the connection only means a redelivery after
            // ackWaitMs, which the consumers' inboxes absorb.
            m.ack();
            target.handled = m.seq;
          }
        } catch {
          failing.add(target);
          if (!closing && !closed) await sleep(500); // a lost connection or a deleted consumer: start over
        } finally {
          if (messages) {
            iterators.delete(messages);
            await messages.close().catch(() => undefined);
          }
        }
      }
    };
    const loops = Promise.all(targets.map(runPartition));

    return {
      isConsuming: () => failing.size === 0,
      async close() {
        if (closing) return loops.then(() => undefined);
        closing = true;
        for (const messages of iterators) messages.stop();
        await loops;
      },
      async lag(): Promise<PartitionLag[]> {
        // The durable consumer's own count: not yet delivered plus delivered and unacknowledged.
        return Promise.all(
          targets.map(async (t) => {
            const info = await t.consumer.info();
            return { topic: t.topic, partition: t.partition, records: info.num_pending + info.num_ack_pending };
          }),
        );
      },
      async caughtUp() {
        for (let round = 0; ; round++) {
          if (closing || closed) return;
          const behind = targets.filter((t) => t.end > 0 && t.handled < t.end);
          if (behind.length === 0) return;
          if (round % 4 === 3) {
            // Another member of the group may have handled those records: ask the server.
            for (const target of behind) {
              const info = await target.consumer.info().catch(() => undefined);
              if (info && (info.ack_floor.stream_seq >= target.end || (info.num_pending === 0 && info.num_ack_pending === 0))) {
                target.handled = Math.max(target.handled, target.end);
              }
            }
          }
          await sleep(25);
        }
      },
    };
  }

  /**
   * Reads every topic from its first record with an ordered consumer; acknowledges
   * nothing. After a reconnect each topic's consumer is made again from the record after
   * the last one handled: the server may have lost the ephemeral consumer with its
   * restart, and waiting for the client to notice missed heartbeats takes half a minute.
   */
  async function replaySubscription(metas: TopicMeta[], subscribeOptions: SubscribeOptions): Promise<TrackedSubscription> {
    const { js, jsm } = await clients;
    const retry = subscribeOptions.retry ?? DEFAULT_RETRY;
    let closing = false;
    const hooks = hooksFor(subscribeOptions, () => closing);
    const targets = await Promise.all(
      metas.map(async (meta) => ({
        meta,
        end: (await jsm.streams.info(meta.stream)).state.last_seq,
        handled: 0,
        messages: undefined as ConsumerMessages | undefined,
      })),
    );
    const restart = () => {
      for (const target of targets) target.messages?.stop();
    };
    /** Topics whose ordered consumer failed and is not set up again yet. */
    const failing = new Set<(typeof targets)[number]>();
    onReconnect.add(restart);
    const loops = Promise.all(
      targets.map(async (target) => {
        while (!closing && !closed) {
          try {
            const from = target.handled > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: target.handled + 1 } : { deliver_policy: DeliverPolicy.All };
            target.messages = await (await js.consumers.get(target.meta.stream, from)).consume();
            failing.delete(target);
            if (closing || closed) target.messages.stop(); // close() ran while it was being set up
            for await (const m of target.messages) {
              if (closing || closed) break;
              const outcome = await deliver(toRecord(target.meta.topic, m), subscribeOptions.group, subscribeOptions.handle, retry, hooks);
              if (outcome === 'aborted') return;
              target.handled = m.seq;
            }
          } catch {
            failing.add(target);
            if (!closing && !closed) await sleep(500); // the server is away: try again
          } finally {
            await target.messages?.close().catch(() => undefined);
            target.messages = undefined;
          }
        }
      }),
    );
    return {
      isConsuming: () => failing.size === 0,
      async close() {
        closing = true;
        onReconnect.delete(restart);
        restart();
        await loops;
      },
      async caughtUp() {
        while (!closing && !closed && targets.some((t) => t.handled < t.end)) await sleep(10);
      },
      async lag(): Promise<PartitionLag[]> {
        // An ordered consumer reads the whole stream (every partition's subject) in sequence.
        return Promise.all(
          targets.map(async (t) => {
            const { state } = await jsm.streams.info(t.meta.stream);
            return { topic: t.meta.topic, partition: null, records: Math.max(0, state.last_seq - Math.max(t.handled, state.first_seq - 1)) };
          }),
        );
      },
    };
  }

  return bus;
}

/** Removes every stream of a prefix (tests, resets). The log is gone afterwards. */
export async function deleteNatsStreams(options: { url: string; streamPrefix: string }): Promise<void> {
  const nc = await connect({ servers: options.url.split(',').map((s) => s.trim()) });
  try {
    const jsm = await jetstreamManager(nc);
    const prefix = `${nameToken(options.streamPrefix)}_`;
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(prefix)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}
