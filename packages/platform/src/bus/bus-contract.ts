import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Header, deadLetterTopic } from '@orderflow/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchOutcome, Bus, BusMessage, BusRecord, RetryPolicy } from './bus.ts';

/**
 * Opens a bus on the broker under test. Two calls with the same scope are two processes
 * on one broker (same log, same groups); each test gets its own scope.
 */
export type MakeBus = (scope: string) => Bus;

export interface ContractOptions {
  /** Removes what a test left on the broker (streams, topics, files) once its buses are closed. */
  cleanup?(scope: string): Promise<void>;
  /** Upper bound for a group to start receiving (Kafka's group join and rebalance take seconds). */
  settleMs?: number;
}

const FAST_RETRY: RetryPolicy = { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 2 };
/**
 * The delivery guarantees every Bus adapter gives (see bus.ts), run against each one:
 * order within a key, at-least-once across a crash, groups, replay, the dead-letter topic
 * and headers. Topic names are unique per test so that a shared broker needs no reset.
 */
export function busContract(name: string, makeBus: MakeBus, options: ContractOptions = {}): void {
  const settleMs = options.settleMs ?? 10_000;

  describe(`bus contract: ${name}`, { timeout: settleMs * 4 + 20_000 }, () => {
    const open: Bus[] = [];
    const scopes: string[] = [];
    let scope = '';
    let topic = '';

    const newScope = () => {
      scope = `contract${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      scopes.push(scope);
      topic = `orders-${scope}`;
    };
    const openBus = async (): Promise<Bus> => {
      const bus = makeBus(scope);
      open.push(bus);
      await bus.ensureTopics([topic]);
      return bus;
    };

    afterEach(async () => {
      for (const bus of open.splice(0)) await bus.close();
      for (const s of scopes.splice(0)) await options.cleanup?.(s);
    });

    const message = (key: string, value: string, headers: Record<string, string> = {}): BusMessage => ({
      topic,
      key,
      value,
      headers: { [Header.eventType]: 'Test', ...headers },
    });
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `order-${i}`);

    async function waitUntil(condition: () => boolean, what: string, timeoutMs = settleMs) {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
        await sleep(10);
      }
    }

    describe('order and content', () => {
      it('given many records of several keys published in batches, when a group consumes them, then each key is handled in publish order on one partition', async () => {
        newScope();
        const bus = await openBus();
        const seen = new Map<string, { value: number; partition: number }[]>();
        await bus.subscribe({
          group: 'order-check',
          topics: [topic],
          handle: async (record) => {
            const list = seen.get(record.key) ?? [];
            list.push({ value: Number(record.value), partition: record.partition });
            seen.set(record.key, list);
          },
        });

        for (let batch = 0; batch < 4; batch++) {
          await bus.publish(Array.from({ length: 50 }, (_, i) => message(`key-${i % 5}`, String(batch * 50 + i))));
        }

        await waitUntil(() => [...seen.values()].reduce((n, list) => n + list.length, 0) >= 200, 'all 200 records are handled');
        for (let k = 0; k < 5; k++) {
          const list = seen.get(`key-${k}`) ?? [];
          expect(list.map((r) => r.value)).toEqual(Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 5 === k));
          expect(new Set(list.map((r) => r.partition)).size).toBe(1);
        }
      });

      it('given a record with headers, when it is consumed and read back, then key, value and headers round-trip unchanged', async () => {
        newScope();
        const bus = await openBus();
        const headers = {
          [Header.eventType]: 'OrderCreated',
          [Header.eventVersion]: '1',
          [Header.traceparent]: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          'x-mixed-Case': 'spaces, colons: and = signs; ünïcødé ✓',
        };
        const value = JSON.stringify({ id: 'e-1', note: 'multi\nline ✓' });
        const received: BusRecord[] = [];
        await bus.subscribe({ group: 'headers', topics: [topic], handle: async (record) => void received.push(record) });

        await bus.publish([{ topic, key: 'order-ü-1', value, headers }]);

        await waitUntil(() => received.length === 1, 'the record is handled');
        const [all] = [await bus.readAll(topic)];
        for (const record of [received[0], all[0]]) {
          expect(record).toMatchObject({ topic, key: 'order-ü-1', value });
          expect(record?.headers).toEqual(headers);
          expect(typeof record?.offset).toBe('string');
          expect(record?.timestamp).toBeGreaterThan(Date.now() - 60_000);
        }
      });

      it('given topics ensured twice, when reading an empty topic and one that was never created, then both read as empty', async () => {
        newScope();
        const bus = await openBus();

        await bus.ensureTopics([topic]);

        expect(await bus.readAll(topic)).toEqual([]);
        expect(await bus.readAll(`never-${scope}`)).toEqual([]);
        expect(await bus.isReady()).toBe(true);
      });
    });

    describe('at-least-once delivery', () => {
      it('given a consumer that stops before its handler returned, when a new process joins the group, then that record is delivered again and the handled one is not', async () => {
        newScope();
        const first = await openBus();
        const firstSeen: string[] = [];
        await first.subscribe({
          group: 'payment',
          topics: [topic],
          // A long backoff keeps the failed record in flight while the process goes away.
          retry: { maxAttempts: 5, initialBackoffMs: 300, maxBackoffMs: 300 },
          handle: async (record) => {
            firstSeen.push(record.value);
            if (record.value === 'crashes') throw new Error('process is going down');
          },
        });
        await first.publish([message('order-1', 'handled'), message('order-1', 'crashes')]);
        await waitUntil(() => firstSeen.includes('crashes'), 'the second record is in flight');

        await first.close(); // no commit for the record in flight: it is not done

        const second = await openBus();
        const secondSeen: string[] = [];
        await second.subscribe({ group: 'payment', topics: [topic], handle: async (record) => void secondSeen.push(record.value) });
        await waitUntil(() => secondSeen.includes('crashes'), 'the unfinished record is redelivered');
        await sleep(200);

        expect(firstSeen[0]).toBe('handled');
        expect(secondSeen).toEqual(['crashes']);
        expect(await second.readAll(deadLetterTopic(topic))).toEqual([]);
      });

      it('given a handler that fails once, when the record is retried, then it is handled on the second attempt and nothing is dead-lettered', async () => {
        newScope();
        const bus = await openBus();
        const attempts: string[] = [];
        const retries: number[] = [];
        await bus.subscribe({
          group: 'g',
          topics: [topic],
          retry: FAST_RETRY,
          handle: async (record) => {
            attempts.push(record.value);
            if (record.value === 'flaky' && attempts.length === 1) throw new Error('transient');
          },
          onRetry: (_record, attempt) => retries.push(attempt),
        });

        await bus.publish([message('order-1', 'flaky'), message('order-1', 'next')]);

        await waitUntil(() => attempts.includes('next'), 'the next record is handled');
        expect(attempts).toEqual(['flaky', 'flaky', 'next']);
        expect(retries).toEqual([1]);
        expect(await bus.readAll(deadLetterTopic(topic))).toEqual([]);
      });
    });

    describe('the dead-letter topic', () => {
      it('given a record that always fails, when its attempts run out, then it is written to <topic>.DLT with the dlt headers and the partition moves on', async () => {
        newScope();
        const bus = await openBus();
        const handled: string[] = [];
        const deadLettered: { value: string; attempts: number }[] = [];
        await bus.subscribe({
          group: 'inventory',
          topics: [topic],
          retry: FAST_RETRY,
          handle: async (record) => {
            if (record.value === 'poison') throw new Error('cannot handle this');
            handled.push(record.value);
          },
          onDeadLetter: async (record, _error, attempts) => void deadLettered.push({ value: record.value, attempts }),
        });

        await bus.publish([message('order-1', 'before'), message('order-1', 'poison', { [Header.traceparent]: 'tp' }), message('order-1', 'after')]);

        await waitUntil(() => handled.length === 2, 'the records around the poison one are handled');
        expect(handled).toEqual(['before', 'after']);
        expect(deadLettered).toEqual([{ value: 'poison', attempts: 2 }]);
        const original = (await bus.readAll(topic)).find((r) => r.value === 'poison');
        const dlt = await bus.readAll(deadLetterTopic(topic));
        expect(dlt).toHaveLength(1);
        expect(dlt[0]).toMatchObject({ topic: deadLetterTopic(topic), key: 'order-1', value: 'poison' });
        expect(dlt[0]?.headers).toEqual({
          [Header.eventType]: 'Test',
          [Header.traceparent]: 'tp',
          [Header.dltOriginalTopic]: topic,
          [Header.dltOriginalPartition]: String(original?.partition),
          [Header.dltOriginalOffset]: original?.offset,
          [Header.dltError]: 'Error: cannot handle this',
          [Header.dltAttempts]: '2',
          [Header.dltConsumerGroup]: 'inventory',
        });
      });
    });

    describe('batches', () => {
      /**
       * A subscriber that handles batches as the event consumer does: records in order,
       * "committed" together; a failing record ends the batch, the ones before it stay.
       */
      const batchSubscriber = (handled: string[], fails: (value: string) => boolean, batchSizes: number[]) => ({
        handle: async (record: BusRecord) => {
          if (fails(record.value)) throw new Error(`cannot handle ${record.value}`);
          handled.push(record.value);
        },
        handleBatch: async (records: readonly BusRecord[]): Promise<BatchOutcome> => {
          batchSizes.push(records.length);
          const failing = records.findIndex((r) => fails(r.value));
          const committed = failing === -1 ? records : records.slice(0, failing);
          handled.push(...committed.map((r) => r.value));
          return failing === -1 ? { handled: records.length } : { handled: failing, error: new Error(`cannot handle ${records[failing]!.value}`) };
        },
      });

      it('given records waiting on their partitions and a failing one in the middle, when a batch subscriber consumes them, then the others are handled once in key order and the failing one is dead-lettered', async () => {
        newScope();
        const bus = await openBus();
        const values = Array.from({ length: 60 }, (_, i) => ({ key: `order-${i % 3}`, value: `${i % 3}:${Math.floor(i / 3)}` }));
        await bus.publish(values.map((v) => message(v.key, v.value)));
        const handled: string[] = [];
        const batchSizes: number[] = [];
        const deadLettered: string[] = [];

        await bus.subscribe({
          group: 'batched',
          topics: [topic],
          retry: FAST_RETRY,
          batchMax: 8,
          ...batchSubscriber(handled, (value) => value === '1:5', batchSizes),
          onDeadLetter: async (record) => void deadLettered.push(record.value),
        });

        await waitUntil(() => handled.length >= 59 && deadLettered.length === 1, 'every record is handled or dead-lettered');
        await sleep(200); // a duplicate would show up now
        for (let k = 0; k < 3; k++) {
          const expected = values.filter((v) => v.key === `order-${k}` && v.value !== '1:5').map((v) => v.value);
          expect(handled.filter((v) => v.startsWith(`${k}:`))).toEqual(expected);
        }
        expect(handled).toHaveLength(59);
        expect(deadLettered).toEqual(['1:5']);
        expect((await bus.readAll(deadLetterTopic(topic))).map((r) => r.value)).toEqual(['1:5']);
        expect(Math.max(...batchSizes, 0)).toBeLessThanOrEqual(8);
        // NATS hands a group one record of a partition at a time (see nats-bus.ts): no batches there.
        if (bus.kind !== 'nats') expect(Math.max(...batchSizes, 0)).toBeGreaterThan(1);
      });

      it('given a process that goes away while a record of its batch is retried, when a new process joins the group, then it starts at that record: the ones before it are not redelivered', async () => {
        newScope();
        const first = await openBus();
        await first.publish(['h1', 'h2', 'h3', 'crashes', 'after'].map((value) => message('order-1', value)));
        const firstSeen: string[] = [];
        await first.subscribe({
          group: 'payment',
          topics: [topic],
          // A long backoff keeps the failed record in flight while the process goes away.
          retry: { maxAttempts: 5, initialBackoffMs: 300, maxBackoffMs: 300 },
          ...batchSubscriber(firstSeen, (value) => value === 'crashes', []),
          onRetry: (record) => void firstSeen.push(`retry ${record.value}`),
        });
        await waitUntil(() => firstSeen.includes('retry crashes'), 'the failing record is being retried');

        await first.close();

        const second = await openBus();
        const secondSeen: string[] = [];
        await second.subscribe({ group: 'payment', topics: [topic], handle: async (record) => void secondSeen.push(record.value) });
        await waitUntil(() => secondSeen.includes('after'), 'the rest is delivered');
        await sleep(200);

        expect(firstSeen.slice(0, 3)).toEqual(['h1', 'h2', 'h3']);
        expect(firstSeen).not.toContain('after');
        expect(secondSeen).toEqual(['crashes', 'after']);
      });
    });

    describe('consumer groups', () => {
      it('given two members of one group, when records of many keys arrive, then each record is handled once by the group', async () => {
        newScope();
        const bus = await openBus();
        const byMember = { a: [] as BusRecord[], b: [] as BusRecord[] };
        for (const member of ['a', 'b'] as const) {
          await bus.subscribe({ group: 'shipping', topics: [topic], handle: async (record) => void byMember[member].push(record) });
        }

        await bus.publish(keys(60).map((key) => message(key, key)));

        await waitUntil(() => byMember.a.length + byMember.b.length >= 60, 'every record is handled');
        await sleep(300); // a duplicate delivery would show up now
        expect([...byMember.a, ...byMember.b].map((r) => r.value).sort()).toEqual(keys(60).sort());
        // Kafka may hand every partition to the first member before the second has joined.
        if (bus.kind !== 'kafka') {
          expect(byMember.a.length).toBeGreaterThan(0);
          expect(byMember.b.length).toBeGreaterThan(0);
        }
      });

      it('given a member that leaves, when a second member of its group stays, then the stayer handles every later record', async () => {
        newScope();
        const bus = await openBus();
        const seen = { a: [] as string[], b: [] as string[] };
        const a = await bus.subscribe({ group: 'g', topics: [topic], handle: async (r) => void seen.a.push(r.value) });
        await bus.subscribe({ group: 'g', topics: [topic], handle: async (r) => void seen.b.push(r.value) });

        await a.close();
        await bus.publish(keys(30).map((key) => message(key, key)));

        await waitUntil(() => seen.b.length >= 30, 'the remaining member handles all');
        expect(seen.a).toEqual([]);
        expect([...seen.b].sort()).toEqual(keys(30).sort());
      });

      it('given two different groups, when records arrive, then each group sees every record', async () => {
        newScope();
        const bus = await openBus();
        const seen = { payment: [] as string[], notification: [] as string[] };
        for (const group of ['payment', 'notification'] as const) {
          await bus.subscribe({ group, topics: [topic], handle: async (record) => void seen[group].push(record.value) });
        }

        await bus.publish(keys(30).map((key) => message(key, key)));

        await waitUntil(() => seen.payment.length >= 30 && seen.notification.length >= 30, 'both groups handled all');
        expect([...seen.payment].sort()).toEqual(keys(30).sort());
        expect([...seen.notification].sort()).toEqual(keys(30).sort());
      });
    });

    describe('where a subscription starts', () => {
      it('given replay, when subscribing twice after a group consumed everything, then each replay reads the whole log', async () => {
        newScope();
        const bus = await openBus();
        await bus.publish(keys(5).map((key) => message(key, key)));
        const consumed = await bus.subscribe({ group: 'status-view', topics: [topic], handle: async () => {} });
        await consumed.caughtUp();
        await consumed.close();

        const rounds: string[][] = [];
        for (let round = 0; round < 2; round++) {
          const seen: string[] = [];
          const subscription = await bus.subscribe({ group: 'status-view', topics: [topic], replay: true, handle: async (r) => void seen.push(r.value) });
          await subscription.caughtUp();
          await subscription.close();
          rounds.push(seen.sort());
        }

        expect(rounds).toEqual([keys(5).sort(), keys(5).sort()]);
      });

      it('given records in the log, when caughtUp resolves, then every record present at subscribe time has been handled', async () => {
        newScope();
        const bus = await openBus();
        await bus.publish(keys(120).map((key) => message(key, key)));
        let handled = 0;

        const subscription = await bus.subscribe({ group: 'g', topics: [topic], handle: async () => void handled++ });
        await subscription.caughtUp();

        expect(handled).toBeGreaterThanOrEqual(120);
      });

      it('given fromBeginning false and no committed position, when subscribing, then only records published afterwards are handled', async () => {
        newScope();
        const bus = await openBus();
        await bus.publish(keys(6).map((key) => message(key, `old-${key}`)));
        const seen: string[] = [];

        const subscription = await bus.subscribe({ group: 'late', topics: [topic], fromBeginning: false, handle: async (r) => void seen.push(r.value) });
        await subscription.caughtUp();
        if (bus.kind === 'kafka') await sleep(settleMs / 2); // the group must own its partitions before "afterwards" starts
        await bus.publish(keys(6).map((key) => message(key, `new-${key}`)));

        await waitUntil(() => seen.length >= 6, 'the new records are handled');
        await sleep(100);
        expect(seen.sort()).toEqual(keys(6).map((key) => `new-${key}`).sort());
      });
    });

    describe('lag', () => {
      const total = (lags: { records: number }[]) => lags.reduce((sum, l) => sum + l.records, 0);
      async function eventuallyLag(subscription: { lag(): Promise<{ records: number }[]> }, expected: number, what: string) {
        const deadline = Date.now() + settleMs;
        let last = -1;
        while ((last = total(await subscription.lag())) !== expected) {
          if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: lag ${last}, expected ${expected}`);
          await sleep(25);
        }
      }

      it('given a group held up on its first record, when more arrive, then its lag counts every record not committed, and falls to 0 once handled', async () => {
        newScope();
        const bus = await openBus();
        let release: () => void = () => {};
        const gate = new Promise<void>((resolve) => (release = resolve));
        let handled = 0;
        const subscription = await bus.subscribe({
          group: 'lagging',
          topics: [topic],
          handle: async () => {
            await gate;
            handled++;
          },
        });
        try {
          await sleep(bus.kind === 'kafka' ? settleMs / 2 : 50); // the group owns its partitions
          await bus.publish(['a', 'b', 'c'].map((value) => message('one-key', value)));

          await eventuallyLag(subscription, 3, 'the three records count as lag (one in flight, two waiting)');
          const lags = await subscription.lag();
          expect(lags.every((l) => l.topic === topic)).toBe(true);
          expect(lags.filter((l) => l.records > 0)).toHaveLength(1); // one key: one partition
        } finally {
          release();
        }
        await waitUntil(() => handled === 3, 'the records are handled');
        await eventuallyLag(subscription, 0, 'the lag is 0');
      });

      it('given a replay, when it has read everything, then its lag is 0', async () => {
        newScope();
        const bus = await openBus();
        await bus.publish(keys(10).map((key) => message(key, key)));
        const subscription = await bus.subscribe({ group: 'view', topics: [topic], replay: true, handle: async () => undefined });
        await subscription.caughtUp();
        await eventuallyLag(subscription, 0, 'the replay has no lag');
        await subscription.close();
      });
    });
  });
}
