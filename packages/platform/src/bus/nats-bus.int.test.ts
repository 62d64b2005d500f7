import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { unreachable } from '../../../../tests/support/required-services.ts';
import type { Bus } from './bus.ts';
import { createNatsBus, deleteNatsStreams } from './nats-bus.ts';

// What the bus contract does not cover for NATS: readiness follows the subscriptions.
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const problem = await unreachable(natsUrl, 4222);
describe.runIf(problem === undefined || process.env.REQUIRE_SERVICES === '1')('nats bus readiness', () => {
  const streamPrefix = `natsready${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  let bus: Bus | undefined;
  afterEach(async () => {
    await bus?.close();
    await deleteNatsStreams({ url: natsUrl, streamPrefix });
  });

  it('given a subscription whose durable consumers were deleted on the server, when its pulls fail, then isReady() is false', async () => {
    bus = createNatsBus({ url: natsUrl, streamPrefix, partitions: 1 });
    await bus.subscribe({ group: 'ready', topics: ['orders'], handle: async () => undefined });
    expect(await bus.isReady()).toBe(true);

    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      for await (const stream of jsm.streams.list()) {
        if (!stream.config.name.startsWith(streamPrefix)) continue;
        for await (const consumer of jsm.consumers.list(stream.config.name)) await jsm.consumers.delete(stream.config.name, consumer.name);
      }
    } finally {
      await nc.close();
    }

    const deadline = Date.now() + 15_000;
    while (await bus.isReady()) {
      if (Date.now() > deadline) throw new Error('isReady() stayed true with no consumer on the server');
      await sleep(100);
    }
  });
});

describe.runIf(problem === undefined || process.env.REQUIRE_SERVICES === '1')('nats bus retention', () => {
  const streamPrefix = `natsretention${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  let bus: Bus | undefined;
  afterEach(async () => {
    await bus?.close();
    await deleteNatsStreams({ url: natsUrl, streamPrefix });
  });

  it('given retentionMs (BROKER_RETENTION), when a topic is created, then its stream and .DLT stream have that max_age', async () => {
    bus = createNatsBus({ url: natsUrl, streamPrefix, partitions: 1, retentionMs: 3_600_000 });
    await bus.ensureTopics(['orders']);
    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const maxAges: Record<string, number> = {};
      for await (const stream of jsm.streams.list()) if (stream.config.name.startsWith(streamPrefix)) maxAges[stream.config.name] = stream.config.max_age;
      expect(maxAges).toEqual({ [`${streamPrefix}_orders`]: 3_600_000 * 1_000_000, [`${streamPrefix}_orders_DLT`]: 3_600_000 * 1_000_000 });
    } finally {
      await nc.close();
    }
  });
});
