import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import type { Bus } from './bus.ts';
import { describe, it } from 'vitest';
import { unreachable } from '../../../../tests/support/required-services.ts';
import { busContract } from './bus-contract.ts';
import { createEmbeddedBus } from './embedded-bus.ts';
import { createKafkaBus } from './kafka-bus.ts';
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

// Kafka: only when a broker is named. Topics are unique per test; they are left on the broker.
const kafkaBrokers = process.env.KAFKA_BROKERS ?? process.env.KAFKA_BROKER;
if (kafkaBrokers) {
  busContract(
    'kafka',
    () => createKafkaBus({ brokers: kafkaBrokers.split(',').map((b) => b.trim()), clientId: 'orderflow-contract', partitions: 3 }),
    { settleMs: 30_000 },
  );
} else {
  console.info('[bus-contract] kafka skipped: KAFKA_BROKERS is not set');
}
