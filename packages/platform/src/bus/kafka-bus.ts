import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadLetterTopic } from '@orderflow/contracts';
// kafkajs is CommonJS: take its runtime values from the default export. Only this module
// knows kafkajs, so another client (see README, "Kafka client") can replace it here alone.
import kafkajs from 'kafkajs';
import type { Admin, Consumer, IHeaders, KafkaConfig, KafkaMessage, LogEntry, Message, SASLOptions, TopicPartitionOffsetAndMetadata, logLevel as LogLevel } from 'kafkajs';
import pino, { type Logger } from 'pino';
import type { Bus, BusRecord, PartitionLag, TrackedSubscription } from './bus.ts';
import { DEFAULT_RETRY } from './bus.ts';
import { deliverAll, errorText } from './delivery.ts';

const { Kafka, KafkaJSProtocolError, Partitioners, logLevel } = kafkajs;

type SaslSettings = { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };

export interface KafkaBusOptions {
  brokers: readonly string[];
  clientId?: string;
  /**
   * Put before every topic and consumer-group name this bus creates or uses (KAFKA_PREFIX),
   * so that tests and benchmarks share a broker with a live system. Handlers and records
   * see the names without it.
   */
  prefix?: string;
  /** Partitions of the topics this bus creates; existing topics keep theirs. */
  partitions?: number;
  replicationFactor?: number;
  /** retention.ms of the topics this bus creates (BROKER_RETENTION); undefined: -1, forever. Existing topics keep theirs. */
  retentionMs?: number | undefined;
  ssl?: boolean;
  sasl?: SaslSettings;
  /** The service's logger: kafkajs's own lines go through it. Default: warnings and errors to stdout. */
  logger?: Logger;
}

/**
 * Group membership timings. A member that vanished (kill -9, or the group state a restarted
 * broker reloads) holds its partitions until the broker gives up on it: one session
 * timeout, here the broker's default minimum (group.min.session.timeout.ms, 6 s). kafkajs
 * has no static membership (KIP-345), so this timeout is the lever; heartbeats go out
 * every second even while a handler runs, so only a process stalled for 6 s is evicted.
 * subscribe() does not wait for the join: HTTP answers at once, /ready is false until
 * partitions are assigned.
 */
const SESSION_TIMEOUT_MS = 6_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
const REBALANCE_TIMEOUT_MS = 20_000;
/**
 * An idle fetch returns after this; a stopping consumer waits at most this long for it.
 * It also bounds how long a record can wait for the fetch in flight: on a 5-hop chain at
 * 20/s, p95 was 241 ms with 500 ms (kafkajs's default is 5 s), 46 ms with 100 ms, 25 ms
 * with 50 ms (p50 about 10 ms for all). Shorter waits cost idle CPU: five idle
 * subscriptions used 5.7% of a core at 500 ms, 8.6% at 100 ms, 11% at 50 ms.
 */
const MAX_WAIT_MS = 100;
/** Handled offsets are committed in the background, at most this often (and once more when a subscription closes). */
const COMMIT_INTERVAL_MS = 500;
/** Records a partition may hold fetched but not yet handled; past this it is paused until its handler catches up. */
const LANE_LIMIT = 2_000;
/**
 * Requests are retried quickly and for a bounded time: a consumer whose retries run out
 * restarts itself (restartOnFailure) and rejoins, so after a broker outage it is back
 * within about a second of the broker's return.
 */
const CLIENT_RETRY = { initialRetryTime: 200, maxRetryTime: 1_000, retries: 8 };
/** How long a subscription that could not start (bad credentials, no broker) waits before trying again. */
const RESTART_BACKOFF_MS = 5_000;
const RETRIABLE_BACKOFF_MS = 500;

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

function saslOptions({ mechanism, username, password }: SaslSettings): SASLOptions {
  switch (mechanism) {
    case 'plain':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'scram-sha-512':
      return { mechanism, username, password };
  }
}

/** Lines kafkajs logs at ERROR during normal operation: a rebalance, a broker that is restarting, a restart of the consumer. */
const ROUTINE = /rebalanc|Topic creation errors|already exists|not the correct coordinator|not coordinator|coordinator (is )?(loading|not available)|does not host this topic-partition|leader|Restarting the consumer|Connection (error|timeout)|ECONNREFUSED|KafkaJSNumberOfRetriesExceeded|KafkaJSConnectionError|Crash: /i;

/** kafkajs's log lines through the service's pino logger: its chatter at debug, a routine rebalance at info, its errors as warnings. */
function logCreatorFor(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _source, ...fields } = log;
      const entry = { kafkajs: namespace, ...fields };
      const text = `kafka: ${message}`;
      // What kafkajs reports as an error also reaches the adapter (a failed publish, a
      // crashed consumer), which logs it once, clearly; its own line is a warning.
      if (level === logLevel.ERROR) {
        if (ROUTINE.test(message) || ROUTINE.test(String(fields.error ?? ''))) logger.info(entry, text);
        else logger.warn(entry, text);
      } else if (level === logLevel.WARN) logger.warn(entry, text);
      else logger.debug(entry, text);
    };
}

const kafkaClient = (options: { brokers: readonly string[]; clientId: string; ssl?: boolean; sasl?: SaslSettings; logger: Logger }) =>
  new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    ssl: options.ssl ?? false,
    ...(options.sasl ? { sasl: saslOptions(options.sasl) } : {}),
    logLevel: (options.logger.isLevelEnabled('debug') ? logLevel.DEBUG : logLevel.INFO) as LogLevel,
    logCreator: logCreatorFor(options.logger),
    retry: CLIENT_RETRY,
    // kafkajs's 1 s gives up on a connect to a busy broker on a loaded machine; a refused connection still fails at once.
    connectionTimeout: 3_000,
  });

/**
 * The errors with which a broker says that it and an idempotent producer disagree on the
 * producer's state (its sequence per partition, its id or epoch): retrying the same
 * producer cannot end them.
 */
const PRODUCER_STATE_ERRORS = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

/** Whether a send failed with one of PRODUCER_STATE_ERRORS (kafkajs may wrap it once, as the cause of a non-retriable error). */
function producerStateLost(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if (e instanceof KafkaJSProtocolError && PRODUCER_STATE_ERRORS.has(e.type)) return true;
  }
  return false;
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
 * all) and a `<topic>.DLT` each; a producer waits until their leaders are known. The
 * producer is idempotent with one request in flight and acks from all replicas, so a
 * retried send neither duplicates nor reorders a partition. A subscription is one
 * consumer in the group; what it fetches goes to a lane per partition, handled in order
 * and in batches (deliverAll), while the consumer fetches again (see subscribe). Only
 * what a handler finished (its transaction committed, or the record dead-lettered) is
 * committed, in the background, so a crash redelivers only unfinished records
 * (at-least-once; consumers dedupe by event id). A record that is retried holds back
 * every later one of its partition.
 */
export function createKafkaBus(options: KafkaBusOptions): Bus {
  const clientId = options.clientId ?? 'orderflow';
  const prefix = options.prefix ?? '';
  const physical = (topic: string) => `${prefix}${topic}`;
  const logical = (topic: string) => (topic.startsWith(prefix) ? topic.slice(prefix.length) : topic);
  const logger = options.logger ?? pino({ level: 'warn', base: undefined });
  const kafka = kafkaClient({ ...options, clientId, logger });
  const admin = kafka.admin();
  const newProducer = () => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // An idempotent producer keeps retrying (kafkajs warns that fewer retries void its
      // guarantees): during a broker outage publish() waits, and completes once it is back.
      retry: { ...CLIENT_RETRY, retries: Number.MAX_SAFE_INTEGER },
      // murmur2 like the Java client and partitioner.ts: an order lands on the same partition everywhere.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    return { producer, connected: connectOnce(() => producer.connect()) };
  };
  let producing = newProducer();
  const adminConnected = connectOnce(() => admin.connect());
  const connectedAdmin = async (): Promise<Admin> => {
    await adminConnected();
    return admin;
  };

  let closed = false;
  const known = new Set<string>();
  const subscriptions = new Set<TrackedSubscription>();

  /**
   * Until every partition's leader hosts it: a new topic's leader is in the metadata a
   * moment before the broker serves it, and producing or listing offsets in between fails
   * with "does not host this topic-partition" / "not the leader". Listing offsets is the probe.
   */
  const leadersServe = async (a: Admin, topics: string[]) => {
    for (let round = 0; ; round++) {
      const served = await Promise.all(topics.map((t) => a.fetchTopicOffsets(t).then((ps) => ps.length > 0, () => false)));
      if (served.every(Boolean)) return;
      if (round >= 100) throw new Error(`Kafka topics ${topics.join(', ')} are not served by a leader after 10 s`);
      await sleep(100);
    }
  };

  /** One provisioning at a time in this process: a subscription and a publish of the same new topic do not race each other. */
  let provisioning: Promise<unknown> = Promise.resolve();
  const ensureTopics = async (topics: readonly string[]) => {
    const wanted = [...new Set(topics.flatMap((t) => (t.endsWith('.DLT') ? [t] : [t, deadLetterTopic(t)])))].map(physical);
    if (wanted.every((t) => known.has(t))) return;
    const provisioned = provisioning.then(() => provision(wanted));
    provisioning = provisioned.catch(() => undefined);
    await provisioned;
  };
  const provision = async (wanted: string[]) => {
    if (wanted.every((t) => known.has(t))) return;
    const a = await connectedAdmin();
    const existing = new Set(await a.listTopics());
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      // Services start together and race to create the same topics: kafkajs resolves false
      // when every topic it was refused already existed, so losing the race is no error.
      await a.createTopics({
        // Not kafkajs's wait: its metadata check fails on "does not host this topic-partition"
        // while a new topic is being placed; leadersServe() below waits for that instead.
        waitForLeaders: false,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: options.partitions ?? 3,
          replicationFactor: options.replicationFactor ?? 1,
          configEntries: [{ name: 'retention.ms', value: String(options.retentionMs ?? -1) }],
        })),
      });
    }
    await leadersServe(a, wanted);
    for (const t of wanted) known.add(t);
  };

  /** Each partition's first (low) and next (high) offset, by logical topic. */
  const watermarks = async (topics: readonly string[]) => {
    const a = await connectedAdmin();
    const marks: { topic: string; partition: number; low: bigint; high: bigint }[] = [];
    for (const topic of topics) {
      for (const p of await a.fetchTopicOffsets(physical(topic))) marks.push({ topic, partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) });
    }
    return marks;
  };

  /** Each partition's end (the next offset) for partitions holding records, keyed `topic/partition`. */
  const endOffsets = async (topics: readonly string[]) =>
    new Map((await watermarks(topics)).filter((m) => m.high > m.low).map((m) => [`${m.topic}/${m.partition}`, m.high]));

  const committedOffsets = async (groupId: string, topics: readonly string[]) => {
    const committed = new Map<string, bigint>();
    for (const entry of await (await connectedAdmin()).fetchOffsets({ groupId, topics: topics.map(physical) })) {
      for (const p of entry.partitions) committed.set(`${logical(entry.topic)}/${p.partition}`, BigInt(p.offset));
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
      // One request: with an idempotent producer and one request in flight, a partition
      // receives these records in the order given, exactly once.
      const byTopic = new Map<string, Message[]>();
      for (const m of messages) {
        const list = byTopic.get(m.topic) ?? [];
        list.push({ key: m.key, value: m.value, headers: { ...m.headers } });
        byTopic.set(m.topic, list);
      }
      const batch = { acks: -1, topicMessages: [...byTopic].map(([topic, list]) => ({ topic: physical(topic), messages: list })) };
      const sendOn = async ({ producer, connected }: typeof producing) => {
        await connected();
        await producer.sendBatch(batch);
      };
      const session = producing;
      try {
        await sendOn(session);
      } catch (error) {
        if (!producerStateLost(error)) throw error;
        // The broker appended a batch whose answer this producer never saw (an outage), and
        // the caller now sends a different batch (the relay's next one holds more rows): the
        // sequences disagree, and kafkajs would repeat the same request forever. A new
        // producer id starts a new sequence. Trade-off: the records the broker already has
        // are written again (at least once; consumers drop the copies by event id), after
        // the originals, so each key's order is kept.
        if (producing === session) {
          logger.warn({ err: error }, 'Kafka producer lost its sequence with the broker; publishing again with a new producer id');
          producing = newProducer();
          void session.producer.disconnect().catch(() => undefined);
        }
        await sendOn(producing);
      }
    },
    async subscribe(subscribeOptions) {
      if (closed) throw new Error('bus is closed');
      const topics = [...subscribeOptions.topics];
      const replay = subscribeOptions.replay ?? false;
      // A replay is a group of its own that starts at the beginning and never commits.
      const groupId = physical(replay ? `${subscribeOptions.group}.replay.${randomUUID()}` : subscribeOptions.group);
      const fromBeginning = replay || (subscribeOptions.fromBeginning ?? true);
      const retry = subscribeOptions.retry ?? DEFAULT_RETRY;
      const log = logger.child({ group: subscribeOptions.group, topics });

      // What caughtUp() waits for: the end of each partition at start, minus the partitions
      // the group is already past or (fromBeginning false, nothing committed) will start after.
      let targets: Map<string, bigint> | undefined;
      const initialTargets = async () => {
        const ends = await endOffsets(topics);
        if (!replay) {
          for (const [tp, position] of await committedOffsets(groupId, topics)) {
            const end = ends.get(tp);
            if (end === undefined) continue;
            if (position >= end || (position < 0n && !fromBeginning)) ends.delete(tp);
          }
        }
        return ends;
      };
      const positions = new Map<string, bigint>();

      let closing = false;
      let consuming = false;
      let consumer: Consumer | undefined;
      let lastProblem = '';
      /**
       * One clear line per distinct problem, not one per attempt; returns how long to wait
       * before the next. A retriable error (a coordinator still loading) is retried soon.
       */
      const reportProblem = (error: unknown): number => {
        const text = errorText(error);
        const retriable = error instanceof Error && 'retriable' in error && error.retriable === true;
        const waitMs = retriable ? RETRIABLE_BACKOFF_MS : RESTART_BACKOFF_MS;
        if (text !== lastProblem) {
          const line = `Kafka consumer of group ${subscribeOptions.group} cannot consume: ${text}; trying again every ${waitMs / 1000} s`;
          if (retriable) log.warn({ err: error }, line);
          else log.error({ err: error }, line);
        }
        lastProblem = text;
        return waitMs;
      };
      let signalClosing = () => {};
      const closingSignal = new Promise<void>((resolve) => (signalClosing = resolve));
      /** A wait that close() cuts short. */
      let wake = () => {};
      const pause = (ms: number) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });

      /**
       * Fetching is not held up by handling. kafkajs fetches, waits until every batch it
       * fetched has been handled, and only then fetches again: a record arriving meanwhile
       * waited for the slowest handler of another partition plus a fetch round trip (7–20 ms
       * a hop in the system, against 2 ms on an idle chain). So eachBatch only puts records
       * on their partition's lane and returns; kafkajs's position (resolveOffset) is what was
       * fetched, and what is committed is the adapter's: each lane's handled offset.
       * Trade-off: after a rebalance a lane may still be finishing a record of a partition
       * that moved, while its new owner starts from the last commit; the inbox (event id in
       * the handler's transaction) makes that second delivery a no-op, as for any redelivery.
       */
      type Lane = {
        topic: string;
        partition: number;
        queue: BusRecord[];
        /** The next offset to put on the lane: a refetch (after a rebalance) skips what was taken. */
        next: bigint;
        /** Past the records handed to the handler (handled or in progress). */
        started: bigint;
        handled: bigint;
        committed: bigint;
        running: Promise<void> | undefined;
        paused: boolean;
      };
      const lanes = new Map<string, Lane>();
      let assigned = new Set<string>();
      const laneOf = (physicalTopic: string, partition: number): Lane => {
        const key = `${physicalTopic}/${partition}`;
        let lane = lanes.get(key);
        if (!lane) {
          lane = { topic: physicalTopic, partition, queue: [], next: -1n, started: -1n, handled: -1n, committed: -1n, running: undefined, paused: false };
          lanes.set(key, lane);
        }
        return lane;
      };
      const laneClosing = (lane: Lane) => closing || closed || !assigned.has(`${lane.topic}/${lane.partition}`);

      let committing: Promise<void> | undefined;
      let commitTimer: NodeJS.Timeout | undefined;
      let lastCommit = 0;
      /** Commits every assigned lane's handled offset that is past its last commit; a failed commit is tried again after the interval. */
      const commitHandled = async (): Promise<void> => {
        if (replay || !consumer) return;
        const due = [...lanes.values()].filter((l) => l.handled > l.committed && assigned.has(`${l.topic}/${l.partition}`));
        if (due.length === 0) return;
        const offsets: TopicPartitionOffsetAndMetadata[] = due.map((l) => ({ topic: l.topic, partition: l.partition, offset: String(l.handled) }));
        const upTo = due.map((l) => l.handled);
        lastCommit = Date.now();
        try {
          await consumer.commitOffsets(offsets);
          due.forEach((l, i) => (l.committed = upTo[i]!));
        } catch (error) {
          log.debug({ err: error }, 'Kafka offset commit failed; trying again in a moment');
          if (!closing && !closed) commitSoon();
        }
      };
      /** One commit at a time, at most one per COMMIT_INTERVAL_MS; none on the path of a fetch or a handler. */
      const commitSoon = () => {
        if (replay || commitTimer) return;
        commitTimer = setTimeout(() => {
          commitTimer = undefined;
          committing = (committing ?? Promise.resolve()).then(commitHandled);
        }, Math.max(0, lastCommit + COMMIT_INTERVAL_MS - Date.now()));
      };

      const resumeIfDrained = (lane: Lane) => {
        if (lane.paused && lane.queue.length < LANE_LIMIT / 2) {
          lane.paused = false;
          consumer?.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
        }
      };
      /** Handles a lane's records in order until it is empty; a failure (no broker for a dead letter) is retried after a pause. */
      const drain = (lane: Lane) => {
        if (lane.running) return;
        const topic = logical(lane.topic);
        lane.running = (async () => {
          while (lane.queue.length > 0 && !laneClosing(lane)) {
            const records = lane.queue.splice(0);
            lane.started = BigInt(records[records.length - 1]!.offset) + 1n;
            resumeIfDrained(lane);
            try {
              const outcome = await deliverAll(
                records,
                subscribeOptions.group,
                subscribeOptions,
                retry,
                {
                  publish: (out) => bus.publish(out),
                  // Leaving, or the partition moved: what is not handled is left to its next owner.
                  isClosing: () => laneClosing(lane),
                  onRetry: subscribeOptions.onRetry,
                  onDeadLetter: subscribeOptions.onDeadLetter,
                },
                (handled) => {
                  lane.handled = BigInt(handled[handled.length - 1]!.offset) + 1n;
                  positions.set(`${topic}/${lane.partition}`, lane.handled);
                  commitSoon();
                },
              );
              if (outcome === 'aborted') {
                // The partition moved or the subscription closes: what was not handled is
                // forgotten here, and taken again from the last commit if it comes back.
                lane.queue = [];
                lane.started = lane.handled;
                lane.next = lane.handled;
              }
            } catch (error) {
              const waitMs = reportProblem(error);
              // What was not handled goes back to the front, in order, and is tried again.
              lane.queue.unshift(...records.filter((r) => BigInt(r.offset) >= lane.handled));
              lane.started = lane.handled;
              await Promise.race([sleep(waitMs), closingSignal]);
            }
          }
        })().finally(() => {
          lane.running = undefined;
        });
      };

      /** A (re)join: lanes of partitions this member no longer owns stop; every lane drops what it had not started, which kafkajs fetches again from the last commit. */
      const onAssignment = (assignment: Record<string, number[]>) => {
        assigned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`)));
        for (const lane of lanes.values()) {
          lane.queue = [];
          lane.next = lane.started;
          lane.paused = false;
        }
        commitSoon();
      };

      const newConsumer = () => {
        const c = kafka.consumer({
          groupId,
          allowAutoTopicCreation: false,
          sessionTimeout: SESSION_TIMEOUT_MS,
          rebalanceTimeout: REBALANCE_TIMEOUT_MS,
          heartbeatInterval: HEARTBEAT_INTERVAL_MS,
          maxWaitTimeInMs: MAX_WAIT_MS,
          // Retriable failures (a broker outage) restart the consumer; the rest (bad credentials) are ours to retry.
          retry: { ...CLIENT_RETRY, restartOnFailure: async () => true },
        });
        c.on(c.events.GROUP_JOIN, ({ payload }) => {
          onAssignment(payload.memberAssignment);
          consuming = true;
          if (lastProblem !== '') log.info(`Kafka consumer of group ${subscribeOptions.group} is consuming again`);
          lastProblem = '';
        });
        c.on(c.events.REBALANCING, () => void (consuming = false));
        c.on(c.events.STOP, () => void (consuming = false));
        c.on(c.events.DISCONNECT, () => void (consuming = false));
        c.on(c.events.CRASH, ({ payload }) => {
          consuming = false;
          if (payload.restart) return; // kafkajs rejoins by itself
          const waitMs = reportProblem(payload.error);
          if (!closing && !closed) started = pause(waitMs).then(start);
        });
        return c;
      };

      const run = async (c: Consumer) => {
        await c.connect();
        await c.subscribe({ topics: topics.map(physical), fromBeginning });
        await c.run({
          // The adapter commits what its lanes handled (commitHandled); kafkajs's own commit
          // would take what was fetched, and waits for it before the next fetch.
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, pause: pausePartition }) => {
            const lane = laneOf(batch.topic, batch.partition);
            const topic = logical(batch.topic);
            for (const message of batch.messages) {
              if (BigInt(message.offset) < lane.next) continue; // taken before a rejoin
              lane.queue.push(toRecord(topic, batch.partition, message));
            }
            const last = batch.messages[batch.messages.length - 1];
            if (last) {
              lane.next = BigInt(last.offset) + 1n;
              resolveOffset(last.offset); // kafkajs's fetch position, not a commit
            }
            if (lane.queue.length >= LANE_LIMIT && !lane.paused) {
              lane.paused = true;
              pausePartition();
            }
            drain(lane);
          },
        });
      };

      // Starts in the background: a service listens for HTTP (with /ready false) while its
      // consumers join their groups, and a broker that cannot be reached is retried, not fatal.
      const start = async (): Promise<void> => {
        while (!closing && !closed) {
          const c = newConsumer();
          consumer = c;
          try {
            await ensureTopics(topics);
            targets ??= await initialTargets();
            await run(c);
            return; // joined, or crashed: the CRASH listener decides what comes next
          } catch (error) {
            const waitMs = reportProblem(error);
            await c.disconnect().catch(() => undefined);
            await pause(waitMs);
          }
        }
      };
      let started = start();

      const subscription = {
        isConsuming: () => consuming,
        async close() {
          if (closing) return;
          closing = true;
          wake();
          signalClosing();
          await started;
          // Each lane stops after the record in flight; what they handled is committed while still a member.
          await Promise.all([...lanes.values()].map((l) => l.running));
          clearTimeout(commitTimer);
          commitTimer = undefined;
          await committing;
          await commitHandled();
          await consumer?.disconnect();
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
            if (closing || closed) return;
            if (targets) {
              for (const [tp, end] of targets) if ((positions.get(tp) ?? -1n) >= end) targets.delete(tp);
              if (targets.size === 0) return;
              if (!replay && round % 10 === 9) {
                // Other members of the group own some partitions: their commits count too.
                const committed = await committedOffsets(groupId, topics).catch(() => new Map<string, bigint>());
                for (const [tp, end] of targets) if ((committed.get(tp) ?? -1n) >= end) targets.delete(tp);
              }
            }
            await sleep(50);
          }
        },
      } satisfies TrackedSubscription;
      subscriptions.add(subscription);
      return subscription;
    },
    async readAll(topic) {
      const a = await connectedAdmin();
      if (!(await a.listTopics()).includes(physical(topic))) return [];
      const ends = new Map([...(await endOffsets([topic]))].map(([tp, end]) => [Number(tp.slice(tp.lastIndexOf('/') + 1)), end]));
      if (ends.size === 0) return [];
      const groupId = physical(`${clientId}.read-all.${randomUUID()}`);
      const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: MAX_WAIT_MS });
      const records: BusRecord[] = [];
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [physical(topic)], fromBeginning: true });
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
    /** The broker answers and every subscription is consuming (joined its group, not crashed or rebalancing). */
    async isReady() {
      if (closed) return false;
      if ([...subscriptions].some((s) => !s.isConsuming())) return false;
      const check = connectedAdmin().then(async (a) => (await a.describeCluster()).brokers.length > 0);
      return Promise.race([check, sleep(5_000).then(() => false)]).catch(() => false);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.close()));
      await producing.producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
  return bus;
}

/**
 * Deletes every topic and consumer group whose name starts with `prefix` (what a test or
 * benchmark run with KAFKA_PREFIX created). Members must have left their groups first.
 */
export async function deleteKafkaScope(options: { brokers: readonly string[]; prefix: string; ssl?: boolean; sasl?: SaslSettings }): Promise<void> {
  if (options.prefix === '') throw new Error('deleteKafkaScope: prefix must not be empty (it would delete every topic and group on the broker)');
  const kafka = kafkaClient({ ...options, clientId: 'orderflow-cleanup', logger: pino({ level: 'silent' }) });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(options.prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(options.prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}
