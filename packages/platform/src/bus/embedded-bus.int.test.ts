import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Header } from '@orderflow/contracts';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusMessage, BusRecord, RetryPolicy } from './bus.ts';
import { createEmbeddedBus } from './embedded-bus.ts';

const FAST_RETRY: RetryPolicy = { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 2 };

const buses: Bus[] = [];
const dirs: string[] = [];

function memoryBus(): Bus {
  const bus = createEmbeddedBus({ file: ':memory:' });
  buses.push(bus);
  return bus;
}

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-bus-'));
  dirs.push(dir);
  return join(dir, 'bus.db');
}

function fileBus(file: string): Bus {
  const bus = createEmbeddedBus({ file });
  buses.push(bus);
  return bus;
}

afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const message = (key: string, value: string, topic = 'orders'): BusMessage => ({ topic, key, value, headers: { [Header.eventType]: 'Test' } });

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Keys spread over every partition of a 3-partition topic. */
const keys = (count: number) => Array.from({ length: count }, (_, i) => `order-${i}`);

describe('embedded bus', () => {
  describe('ordering', () => {
    it('given many records of several keys published in batches, when consumed, then each key is handled in publish order', async () => {
      const bus = memoryBus();
      const seen = new Map<string, number[]>();
      await bus.subscribe({
        group: 'g',
        topics: ['orders'],
        handle: async (record) => {
          seen.set(record.key, [...(seen.get(record.key) ?? []), Number(record.value)]);
        },
      });

      // 5 keys x 120 records, published in 4 batches: more than one fetch per partition.
      for (let batch = 0; batch < 4; batch++) {
        await bus.publish(Array.from({ length: 150 }, (_, i) => message(`key-${i % 5}`, String(batch * 150 + i))));
      }

      await waitUntil(() => [...seen.values()].reduce((n, values) => n + values.length, 0) === 600, 'all 600 records are handled');
      for (let k = 0; k < 5; k++) {
        const expected = Array.from({ length: 600 }, (_, i) => i).filter((i) => i % 5 === k);
        expect(seen.get(`key-${k}`)).toEqual(expected);
      }
    });

    it('given records of one key, when read back, then their offsets in the partition are consecutive from 0', async () => {
      const bus = memoryBus();

      await bus.publish(['a', 'b', 'c'].map((value) => message('order-1', value)));

      const records = await bus.readAll('orders');
      expect(records.map((r) => [r.value, r.offset])).toEqual([
        ['a', '0'],
        ['b', '1'],
        ['c', '2'],
      ]);
      expect(new Set(records.map((r) => r.partition)).size).toBe(1);
    });
  });

  describe('at-least-once delivery and the dead-letter topic', () => {
    it('given a handler that throws on the first try, when the record is delivered, then it is retried and delivered again', async () => {
      const bus = memoryBus();
      const deliveries: string[] = [];
      const retries: number[] = [];
      let failed = false;
      await bus.subscribe({
        group: 'g',
        topics: ['orders'],
        retry: FAST_RETRY,
        handle: async (record) => {
          deliveries.push(`${record.value}@${record.offset}`);
          if (record.value === 'flaky' && !failed) {
            failed = true;
            throw new Error('transient');
          }
        },
        onRetry: (_record, attempt) => retries.push(attempt),
      });

      await bus.publish([message('order-1', 'flaky'), message('order-1', 'next')]);

      await waitUntil(() => deliveries.includes('next@1'), 'the next record is handled');
      expect(deliveries).toEqual(['flaky@0', 'flaky@0', 'next@1']);
      expect(retries).toEqual([1]);
      expect(await bus.readAll('orders.DLT')).toEqual([]);
    });

    it('given a record that always fails, when its retries run out, then it is dead-lettered with its key, value, headers and dlt headers, and the partition moves on', async () => {
      const bus = memoryBus();
      const handled: string[] = [];
      const deadLettered: { value: string; attempts: number }[] = [];
      await bus.subscribe({
        group: 'inventory',
        topics: ['orders'],
        retry: FAST_RETRY,
        handle: async (record) => {
          if (record.value === 'poison') throw new Error('cannot handle this');
          handled.push(record.value);
        },
        onDeadLetter: async (record, _error, attempts) => {
          deadLettered.push({ value: record.value, attempts });
        },
      });

      await bus.publish([message('order-1', 'before'), message('order-1', 'poison'), message('order-1', 'after-1'), message('order-1', 'after-2')]);

      await waitUntil(() => handled.length === 3, 'the records around the poison one are handled');
      expect(handled).toEqual(['before', 'after-1', 'after-2']);
      expect(deadLettered).toEqual([{ value: 'poison', attempts: 2 }]);
      const [original] = (await bus.readAll('orders')).filter((r) => r.value === 'poison');
      const dlt = await bus.readAll('orders.DLT');
      expect(dlt).toHaveLength(1);
      expect(dlt[0]).toMatchObject({
        topic: 'orders.DLT',
        key: 'order-1',
        value: 'poison',
        headers: {
          [Header.eventType]: 'Test',
          [Header.dltOriginalTopic]: 'orders',
          [Header.dltOriginalPartition]: String(original?.partition),
          [Header.dltOriginalOffset]: '1',
          [Header.dltError]: 'Error: cannot handle this',
          [Header.dltAttempts]: '2',
          [Header.dltConsumerGroup]: 'inventory',
        },
      });
    });
  });

  describe('dead letters of a replay subscription', () => {
    it('given a replay subscription whose handler keeps failing, when dead-lettered, then dlt-consumer-group is the group as subscribers named it', async () => {
      const bus = memoryBus();
      await bus.publish([message('order-1', 'bad')]);

      const subscription = await bus.subscribe({
        group: 'status-view',
        topics: ['orders'],
        replay: true,
        retry: { ...FAST_RETRY, maxAttempts: 1 },
        handle: async () => {
          throw new Error('projection bug');
        },
      });
      await subscription.caughtUp();

      const dlt = await bus.readAll('orders.DLT');
      expect(dlt.map((r) => r.headers[Header.dltConsumerGroup])).toEqual(['status-view']);
    });
  });

  describe('consumer groups', () => {
    it('given two members of one group, when records of many keys arrive, then they split the partitions and each record is handled exactly once', async () => {
      const bus = memoryBus();
      const byMember = { a: [] as BusRecord[], b: [] as BusRecord[] };
      for (const member of ['a', 'b'] as const) {
        await bus.subscribe({ group: 'shipping', topics: ['orders'], handle: async (record) => void byMember[member].push(record) });
      }

      await bus.publish(keys(60).map((key) => message(key, key)));

      await waitUntil(() => byMember.a.length + byMember.b.length >= 60, 'every record is handled');
      await sleep(20); // a duplicate delivery would show up now
      const all = [...byMember.a, ...byMember.b].map((r) => r.value).sort();
      expect(all).toEqual(keys(60).sort());
      expect(byMember.a.length).toBeGreaterThan(0);
      expect(byMember.b.length).toBeGreaterThan(0);
      const partitionsOf = (records: BusRecord[]) => new Set(records.map((r) => r.partition));
      const shared = [...partitionsOf(byMember.a)].filter((p) => partitionsOf(byMember.b).has(p));
      expect(shared).toEqual([]);
    });

    it('given two different groups, when records arrive, then each group sees every record', async () => {
      const bus = memoryBus();
      const seen = { payment: [] as string[], notification: [] as string[] };
      for (const group of ['payment', 'notification'] as const) {
        await bus.subscribe({ group, topics: ['orders'], handle: async (record) => void seen[group].push(record.value) });
      }

      await bus.publish(keys(30).map((key) => message(key, key)));

      await waitUntil(() => seen.payment.length === 30 && seen.notification.length === 30, 'both groups handled all');
      expect([...seen.payment].sort()).toEqual(keys(30).sort());
      expect([...seen.notification].sort()).toEqual(keys(30).sort());
    });

    it('given a group that leaves, when a second member of it stays, then the stayer takes over the partitions', async () => {
      const bus = memoryBus();
      const seen = { a: [] as string[], b: [] as string[] };
      const a = await bus.subscribe({ group: 'g', topics: ['orders'], handle: async (r) => void seen.a.push(r.value) });
      await bus.subscribe({ group: 'g', topics: ['orders'], handle: async (r) => void seen.b.push(r.value) });

      await a.close();
      await bus.publish(keys(30).map((key) => message(key, key)));

      await waitUntil(() => seen.b.length === 30, 'the remaining member handles all');
      expect(seen.a).toEqual([]);
    });
  });

  describe('where a subscription starts', () => {
    it('given replay, when subscribing twice, then each subscription reads the whole log and no offset is committed', async () => {
      const file = tempFile();
      const bus = fileBus(file);
      await bus.publish(keys(5).map((key) => message(key, key)));
      const rounds: string[][] = [];

      for (let round = 0; round < 2; round++) {
        const seen: string[] = [];
        const subscription = await bus.subscribe({ group: 'status-view', topics: ['orders'], replay: true, handle: async (r) => void seen.push(r.value) });
        await subscription.caughtUp();
        await subscription.close();
        rounds.push(seen.sort());
      }
      await bus.close();

      expect(rounds).toEqual([keys(5).sort(), keys(5).sort()]);
      const sqlite = new Database(file, { readonly: true });
      try {
        expect(sqlite.prepare('SELECT * FROM group_offsets').all()).toEqual([]);
      } finally {
        sqlite.close();
      }
    });

    it('given fromBeginning false and no committed offset, when subscribing, then only records published afterwards are handled', async () => {
      const bus = memoryBus();
      await bus.publish(keys(6).map((key) => message(key, `old-${key}`)));
      const seen: string[] = [];

      const subscription = await bus.subscribe({ group: 'late', topics: ['orders'], fromBeginning: false, handle: async (r) => void seen.push(r.value) });
      await subscription.caughtUp();
      await bus.publish(keys(6).map((key) => message(key, `new-${key}`)));

      await waitUntil(() => seen.length === 6, 'the new records are handled');
      expect(seen.sort()).toEqual(keys(6).map((key) => `new-${key}`).sort());
    });

    it('given fromBeginning true (the default), when subscribing, then records already in the log are handled', async () => {
      const bus = memoryBus();
      await bus.publish(keys(6).map((key) => message(key, key)));
      const seen: string[] = [];

      const subscription = await bus.subscribe({ group: 'early', topics: ['orders'], handle: async (r) => void seen.push(r.value) });
      await subscription.caughtUp();

      expect(seen.sort()).toEqual(keys(6).sort());
    });
  });

  describe('caughtUp', () => {
    it('given records in the log, when caughtUp resolves, then every record present at subscribe time has been handled', async () => {
      const bus = memoryBus();
      await bus.publish(keys(250).map((key) => message(key, key)));
      let handled = 0;

      const subscription = await bus.subscribe({ group: 'g', topics: ['orders'], handle: async () => void handled++ });
      await subscription.caughtUp();

      expect(handled).toBe(250);
    });

    it('given an empty topic, when subscribing, then caughtUp resolves at once', async () => {
      const bus = memoryBus();

      const subscription = await bus.subscribe({ group: 'g', topics: ['empty'], handle: async () => {} });

      await expect(subscription.caughtUp()).resolves.toBeUndefined();
    });
  });

  describe('restart', () => {
    it('given a group that consumed part of the log, when the bus is reopened on the same file, then the log is intact and the group resumes after its committed offsets', async () => {
      const file = tempFile();
      const first = fileBus(file);
      const firstSeen: string[] = [];
      let leaving: Promise<void> | undefined;
      const subscription = await first.subscribe({
        group: 'payment',
        topics: ['orders'],
        handle: async (record) => {
          firstSeen.push(record.value);
          // Leave the group after the 4th record: the rest stays unconsumed.
          if (firstSeen.length === 4) leaving = subscription.close();
        },
      });
      await first.publish(Array.from({ length: 10 }, (_, i) => message('order-1', `v${i}`)));
      await waitUntil(() => leaving !== undefined, 'the group has consumed 4 records');
      await leaving;
      const logBefore = await first.readAll('orders');
      await first.close();

      const second = fileBus(file);
      const secondSeen: string[] = [];
      const resumed = await second.subscribe({ group: 'payment', topics: ['orders'], handle: async (r) => void secondSeen.push(r.value) });
      await resumed.caughtUp();
      await second.publish([message('order-1', 'v10')]);
      await waitUntil(() => secondSeen.includes('v10'), 'the new record is handled');

      expect(firstSeen).toEqual(['v0', 'v1', 'v2', 'v3']);
      expect(secondSeen).toEqual(['v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10']);
      const logAfter = await second.readAll('orders');
      expect(logAfter.slice(0, 10)).toEqual(logBefore);
      expect(logAfter[10]).toMatchObject({ value: 'v10', offset: '10' });
    });
  });

  describe('close', () => {
    it('given a record in flight, when the subscription closes, then close waits for it, commits it and nothing more is delivered', async () => {
      const file = tempFile();
      const bus = fileBus(file);
      const entered = deferred();
      const release = deferred();
      const finished: string[] = [];
      const subscription = await bus.subscribe({
        group: 'g',
        topics: ['orders'],
        handle: async (record) => {
          entered.resolve();
          await release.promise;
          finished.push(record.value);
        },
      });
      await bus.publish([message('order-1', 'in-flight'), message('order-1', 'queued')]);
      await entered.promise;

      let closed = false;
      const closing = subscription.close().then(() => (closed = true));
      await sleep(20);
      expect(closed).toBe(false);
      release.resolve();
      await closing;

      expect(finished).toEqual(['in-flight']);
      const resumed: string[] = [];
      const again = await bus.subscribe({ group: 'g', topics: ['orders'], handle: async (r) => void resumed.push(r.value) });
      await again.caughtUp();
      expect(resumed).toEqual(['queued']);
    });

    it('given a record in flight, when the bus closes, then close waits for it and after a restart the group resumes after it', async () => {
      const file = tempFile();
      const bus = fileBus(file);
      const entered = deferred();
      const release = deferred();
      const finished: string[] = [];
      await bus.subscribe({
        group: 'g',
        topics: ['orders'],
        handle: async (record) => {
          entered.resolve();
          await release.promise;
          finished.push(record.value);
        },
      });
      await bus.publish([message('order-1', 'in-flight'), message('order-1', 'queued')]);
      await entered.promise;

      let closed = false;
      const closing = bus.close().then(() => (closed = true));
      await sleep(20);
      expect(closed).toBe(false);
      release.resolve();
      await closing;
      expect(finished).toEqual(['in-flight']);

      const reopened = fileBus(file);
      const resumed: string[] = [];
      const again = await reopened.subscribe({ group: 'g', topics: ['orders'], handle: async (r) => void resumed.push(r.value) });
      await again.caughtUp();
      // The handler returned before close() resolved: its offset is committed, so it is not redelivered.
      expect(resumed).toEqual(['queued']);
    });

    it('given a closed bus, when publishing or subscribing, then it refuses', async () => {
      const bus = memoryBus();
      await bus.close();

      await expect(bus.publish([message('k', 'v')])).rejects.toThrow('bus is closed');
      await expect(bus.subscribe({ group: 'g', topics: ['orders'], handle: async () => {} })).rejects.toThrow('bus is closed');
      expect(await bus.isReady()).toBe(false);
    });
  });

  describe('ignored types', () => {
    it('given a subscriber that ignores a type, when records of it arrive, then they are never delivered, the others are in order, and the position moves past all', async () => {
      const file = tempFile();
      const bus = fileBus(file);
      const typed = (value: string, type: string): BusMessage => ({ topic: 'orders', key: 'order-1', value, headers: { [Header.eventType]: type } });
      await bus.publish([typed('1', 'Wanted'), typed('2', 'Ignored'), typed('3', 'Ignored'), typed('4', 'Wanted'), { ...typed('5', ''), headers: {} }]);
      const seen: string[] = [];
      const subscription = await bus.subscribe({ group: 'g', topics: ['orders'], ignoredTypes: new Set(['Ignored']), handle: async (r) => void seen.push(r.value) });
      await subscription.caughtUp();
      expect(seen).toEqual(['1', '4', '5']); // a record without the header is delivered: the subscriber decides
      expect(await subscription.lag()).toEqual(expect.arrayContaining([expect.objectContaining({ records: 0 })]));
      expect((await subscription.lag()).reduce((sum, l) => sum + l.records, 0)).toBe(0);
    });
  });

  describe('retention', () => {
    it('given records older than the window, when the check runs, then they are deleted in chunks but the newest, a group behind continues from the oldest retained, and offsets are never reused', async () => {
      const file = tempFile();
      const bus = createEmbeddedBus({ file, partitions: 1, retentionMs: 500, retentionCheckMs: 20 });
      buses.push(bus);
      // A group that handled the first two records and left: its position is 2.
      const early: string[] = [];
      let leaving: Promise<void> | undefined;
      const first = await bus.subscribe({
        group: 'early',
        topics: ['orders'],
        handle: async (r) => {
          early.push(r.value);
          if (early.length === 2) leaving = first.close();
        },
      });
      const OLD = 2_500; // more than one deletion chunk
      await bus.publish(Array.from({ length: OLD }, (_, i) => message('order-1', `old-${i}`)));
      await waitUntil(() => leaving !== undefined, 'the early group handled two records');
      await leaving;

      // Past the window, the check deletes every old record but the partition's newest.
      const retained = async () => (await bus.readAll('orders')).map((r) => r.value);
      const deadline = Date.now() + 10_000;
      while ((await retained()).length > 1 && Date.now() < deadline) await sleep(20);
      expect(await retained()).toEqual([`old-${OLD - 1}`]);

      // The group behind, and a new one, continue from the oldest retained record.
      const resumed: BusRecord[] = [];
      const fresh: string[] = [];
      await bus.subscribe({ group: 'early', topics: ['orders'], handle: async (r) => void resumed.push(r) });
      await bus.subscribe({ group: 'fresh', topics: ['orders'], handle: async (r) => void fresh.push(r.value) });
      // Handled before anything newer exists: once it is not the newest, it expires too.
      await waitUntil(() => resumed.length === 1 && fresh.length === 1, 'both groups handled the retained record');
      await bus.publish([message('order-1', 'new-0')]);
      await waitUntil(() => resumed.length === 2 && fresh.length === 2, 'both groups handled the retained and the new record');
      expect(early).toEqual(['old-0', 'old-1']);
      expect(resumed.map((r) => [r.value, r.offset])).toEqual([
        [`old-${OLD - 1}`, String(OLD - 1)],
        ['new-0', String(OLD)],
      ]);
      expect(fresh).toEqual([`old-${OLD - 1}`, 'new-0']);
      await bus.close();

      // Reopened: the next offset continues after the newest retained one, even when only that one is left.
      const reopened = fileBus(file);
      await reopened.publish([message('order-1', 'new-1')]);
      expect((await reopened.readAll('orders')).at(-1)).toMatchObject({ value: 'new-1', offset: String(OLD + 1) });
    });

    it('given no retention (the default), when records age, then the log keeps them all', async () => {
      const bus = createEmbeddedBus({ file: ':memory:', partitions: 1, retentionCheckMs: 20 });
      buses.push(bus);
      await bus.publish([message('order-1', 'a'), message('order-1', 'b')]);
      await sleep(100);
      expect((await bus.readAll('orders')).map((r) => r.value)).toEqual(['a', 'b']);
    });
  });
});
