import { MessageChannel } from 'node:worker_threads';
import { Header, deadLetterTopic } from '@orderflow/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { type Bus, type BusMessage, PoisonRecordError } from './bus.ts';
import { createEmbeddedBus } from './embedded-bus.ts';
import { createThreadBus, serveBus } from './thread-bus.ts';

// What the contract suite does not cover: what is particular to crossing a thread.
const open: Bus[] = [];
afterEach(async () => {
  for (const bus of open.splice(0).reverse()) await bus.close();
});

function connected(): { broker: Bus; client: Bus } {
  const broker = createEmbeddedBus({ file: ':memory:' });
  const { port1, port2 } = new MessageChannel();
  serveBus(broker, port1);
  const client = createThreadBus(port2);
  open.push(broker, client);
  return { broker, client };
}

const typed = (value: string, type: string): BusMessage => ({ topic: 'orders', key: 'order-1', value, headers: { [Header.eventType]: type } });

describe('the embedded broker from another thread', () => {
  it('skips the types a subscriber ignores in the broker thread: they never reach the handler', async () => {
    const { client } = connected();
    await client.ensureTopics(['orders']);
    await client.publish([typed('1', 'Wanted'), typed('2', 'Ignored'), typed('3', 'Wanted')]);
    const seen: string[] = [];
    const subscription = await client.subscribe({ group: 'g', topics: ['orders'], ignoredTypes: new Set(['Ignored']), handle: async (r) => void seen.push(r.value) });
    await subscription.caughtUp();
    expect(seen).toEqual(['1', '3']);
  });

  it('keeps what a handler threw: a poison record is dead-lettered at once, another error after the retries, with its message', async () => {
    const { broker, client } = connected();
    await client.ensureTopics(['orders']);
    await client.publish([typed('poison', 'T'), typed('broken', 'T')]);
    const attempts = new Map<string, number>();
    const deadLettered: string[] = [];
    const subscription = await client.subscribe({
      group: 'g',
      topics: ['orders'],
      retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 },
      handle: async (r) => {
        attempts.set(r.value, (attempts.get(r.value) ?? 0) + 1);
        throw r.value === 'poison' ? new PoisonRecordError('not an event') : new TypeError('cannot read x');
      },
      onDeadLetter: async (r) => void deadLettered.push(r.value),
    });
    await subscription.caughtUp();
    expect(Object.fromEntries(attempts)).toEqual({ poison: 1, broken: 3 });
    expect(deadLettered).toEqual(['poison', 'broken']);
    const dlt = await broker.readAll(deadLetterTopic('orders'));
    expect(dlt.map((r) => r.headers[Header.dltError])).toEqual(['PoisonRecordError: not an event', 'TypeError: cannot read x']);
  });
});
