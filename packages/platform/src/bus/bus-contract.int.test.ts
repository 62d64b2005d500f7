import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import type { Bus } from './bus.ts';
import { describe, it } from 'vitest';
import { unreachable } from '../../../../tests/support/required-services.ts';
import { busContract } from './bus-contract.ts';
import { createEmbeddedBus } from './embedded-bus.ts';
import { createKafkaBus, deleteKafkaScope } from './kafka-bus.ts';
import { createNatsBus, deleteNatsStreams } from './nats-bus.ts';
import { createThreadBus, serveBus } from './thread-bus.ts';

// Embedded: always. Each scope is its own SQLite file; two buses of one scope share it.
const embeddedDir = join(tmpdir(), `orderflow-bus-contract-${process.pid}`);
busContract(
  'embedded',
  (scope) => {
    mkdirSync(embeddedDir, { recursive: true });
    return createEmbeddedBus({ file: join(embeddedDir, `${scope}.db`) });
  },
  { cleanup: async (scope) => rmSync(join(embeddedDir, `${scope}.db`), { force: true }), settleMs: 5_000 },
);

// The embedded broker reached from another thread (npm start's worker thread): each bus is
// a client over its own channel to one broker per scope, as threads of one process are.
const threadBrokers = new Map<string, Bus>();
busContract(
  'embedded, from a thread',
  (scope) => {
    mkdirSync(embeddedDir, { recursive: true });
    let broker = threadBrokers.get(scope);
    if (!broker) threadBrokers.set(scope, (broker = createEmbeddedBus({ file: join(embeddedDir, `thread-${scope}.db`) })));
    const { port1, port2 } = new MessageChannel();
    serveBus(broker, port1);
    return createThreadBus(port2);
  },
  {
    cleanup: async (scope) => {
      await threadBrokers.get(scope)?.close();
      threadBrokers.delete(scope);
      rmSync(join(embeddedDir, `thread-${scope}.db`), { force: true });
    },
    settleMs: 5_000,
  },
);

// NATS JetStream: when reachable. REQUIRE_SERVICES=1 turns "unreachable" into a failure.
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const natsProblem = await unreachable(natsUrl, 4222);
if (natsProblem === undefined) {
  busContract('nats', (scope) => createNatsBus({ url: natsUrl, streamPrefix: scope, partitions: 3 }), {
    cleanup: (scope) => deleteNatsStreams({ url: natsUrl, streamPrefix: scope }),
    settleMs: 10_000,
  });
} else if (process.env.REQUIRE_SERVICES === '1') {
  describe('bus contract: nats', () => {
    it('reaches NATS (REQUIRE_SERVICES=1)', () => {
      throw new Error(`NATS at ${natsUrl} is not reachable (${natsProblem}) and REQUIRE_SERVICES=1`);
    });
  });
} else {
  console.info(`[bus-contract] nats skipped: ${natsUrl} not reachable (${natsProblem}); set REQUIRE_SERVICES=1 to fail instead`);
}

// Kafka: once per broker named, KAFKA_BROKERS (the current 4.x) and KAFKA_BROKERS_LEGACY
// (3.9.x, the last release with ZooKeeper-era clients in the field). Each test's scope is the
// prefix of its topics and groups (so a live system on the same broker is left alone), and
// everything under it is deleted at the end. REQUIRE_SERVICES=1 turns "not set" or
// "unreachable" into a failure.
const kafkaBrokerLists = [
  { name: 'kafka', variable: 'KAFKA_BROKERS', brokers: process.env.KAFKA_BROKERS ?? process.env.KAFKA_BROKER },
  { name: 'kafka (legacy 3.9)', variable: 'KAFKA_BROKERS_LEGACY', brokers: process.env.KAFKA_BROKERS_LEGACY },
];
for (const { name, variable, brokers } of kafkaBrokerLists) {
  const list = (brokers ?? '').split(',').map((b) => b.trim()).filter((b) => b !== '');
  const problem = list.length === 0 ? `${variable} is not set` : await unreachable(`kafka://${list[0]}`, 9092);
  if (problem === undefined) {
    busContract(name, (scope) => createKafkaBus({ brokers: list, clientId: 'orderflow-contract', prefix: `${scope}.`, partitions: 3 }), {
      cleanup: (scope) => deleteKafkaScope({ brokers: list, prefix: `${scope}.` }),
      settleMs: 30_000,
    });
  } else if (process.env.REQUIRE_SERVICES === '1' && (variable === 'KAFKA_BROKERS' || list.length > 0)) {
    describe(`bus contract: ${name}`, () => {
      it(`reaches Kafka (REQUIRE_SERVICES=1)`, () => {
        throw new Error(`Kafka (${variable}) cannot be used: ${problem}, and REQUIRE_SERVICES=1`);
      });
    });
  } else {
    console.info(`[bus-contract] ${name} skipped: ${problem}; set REQUIRE_SERVICES=1 to fail instead`);
  }
}
