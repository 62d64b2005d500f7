/**
 * How fast one Kafka bus subscription consumes one partition with a trivial handler, and
 * the publish-to-handler latency of single records on an idle subscription. Prints figures;
 * asserts nothing. Usage: KAFKA_BROKERS=127.0.0.1:9092 node --import tsx packages/platform/scripts/kafka-bus-rate.ts [records]
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaBus, deleteKafkaScope } from '../src/bus/kafka-bus.ts';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const total = Number(process.argv[2] ?? 100_000);
const prefix = `rate-${randomUUID().slice(0, 8)}.`;
const bus = createKafkaBus({ brokers, prefix, partitions: 1, clientId: 'kafka-bus-rate' });
try {
  const topic = 'records';
  await bus.ensureTopics([topic]);
  const value = JSON.stringify({ id: randomUUID(), payload: 'x'.repeat(200) });
  for (let sent = 0; sent < total; sent += 2_000) {
    await bus.publish(Array.from({ length: Math.min(2_000, total - sent) }, (_, i) => ({ topic, key: `k${(sent + i) % 50}`, value, headers: { 'event-type': 'Test' } })));
  }
  let handled = 0;
  let first = 0;
  const subscription = await bus.subscribe({
    group: 'rate',
    topics: [topic],
    handle: async () => {
      if (handled++ === 0) first = performance.now();
    },
  });
  await subscription.caughtUp();
  const seconds = (performance.now() - first) / 1000;
  console.log(`one subscription, one partition, trivial handler: ${handled} records in ${seconds.toFixed(2)} s = ${Math.round(handled / seconds)} records/s`);

  // Latency: one record at a time, each published once the previous one was handled.
  const latencies: number[] = [];
  let sentAt = 0;
  let resolveHandled: () => void = () => {};
  await bus.subscribe({
    group: 'latency',
    topics: ['latency'],
    handle: async () => {
      latencies.push(performance.now() - sentAt);
      resolveHandled();
    },
  });
  await bus.ensureTopics(['latency']);
  while (!(await bus.isReady())) await sleep(50);
  for (let i = 0; i < 200; i++) {
    const handledNow = new Promise<void>((resolve) => (resolveHandled = resolve));
    sentAt = performance.now();
    await bus.publish([{ topic: 'latency', key: `k${i}`, value, headers: {} }]);
    await handledNow;
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]!.toFixed(1);
  console.log(`publish -> handler, idle subscription, ${latencies.length} records: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
} finally {
  await bus.close();
  await deleteKafkaScope({ brokers, prefix });
}
