import { Header } from '@orderflow/contracts';
import { describe, expect, it, vi } from 'vitest';
import { type BusMessage, type BusRecord, PoisonRecordError, type RetryPolicy } from './bus.ts';
import { type DeliveryHooks, backoffMs, deadLetterOf, deliver } from './delivery.ts';

const TINY: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 };

const record: BusRecord = {
  topic: 'orders',
  partition: 2,
  offset: '41',
  key: 'order-1',
  value: '{"type":"OrderCreated"}',
  headers: { [Header.eventType]: 'OrderCreated', [Header.traceparent]: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  timestamp: 1_700_000_000_000,
};

/** Hooks that record what was published and every retry / dead-letter callback. */
function recordingHooks(closing: () => boolean = () => false) {
  const published: BusMessage[] = [];
  const retries: { attempt: number; error: unknown }[] = [];
  const deadLetters: { error: unknown; attempts: number }[] = [];
  const hooks: DeliveryHooks = {
    publish: async (messages) => {
      published.push(...messages);
    },
    isClosing: closing,
    onRetry: (_record, attempt, error) => retries.push({ attempt, error }),
    onDeadLetter: async (_record, error, attempts) => {
      deadLetters.push({ error, attempts });
    },
  };
  return { hooks, published, retries, deadLetters };
}

/** A handler that fails `times` times, then succeeds. */
function failing(times: number, error: () => unknown = () => new Error('database is locked')) {
  let calls = 0;
  const handle = vi.fn(async (_record: BusRecord) => {
    calls++;
    if (calls <= times) throw error();
  });
  return handle;
}

describe('deliver', () => {
  it('given a handler that succeeds, when delivering, then it is handled on the first try and nothing is published', async () => {
    const { hooks, published, retries } = recordingHooks();
    const handle = failing(0);

    const outcome = await deliver(record, 'inventory', handle, TINY, hooks);

    expect(outcome).toBe('handled');
    expect(handle).toHaveBeenCalledTimes(1);
    expect(handle).toHaveBeenCalledWith(record);
    expect(published).toEqual([]);
    expect(retries).toEqual([]);
  });

  it('given a handler that fails twice then succeeds, when delivering with 3 attempts, then it is retried and handled', async () => {
    const { hooks, published, retries } = recordingHooks();
    const handle = failing(2);

    const outcome = await deliver(record, 'inventory', handle, TINY, hooks);

    expect(outcome).toBe('handled');
    expect(handle).toHaveBeenCalledTimes(3);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(published).toEqual([]);
  });

  it('given a handler that always fails, when delivering, then after maxAttempts the record goes to <topic>.DLT with the dlt headers', async () => {
    const { hooks, published, retries, deadLetters } = recordingHooks();
    const handle = failing(Number.POSITIVE_INFINITY);

    const outcome = await deliver(record, 'inventory', handle, TINY, hooks);

    expect(outcome).toBe('dead-lettered');
    expect(handle).toHaveBeenCalledTimes(3);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(published).toEqual([
      {
        topic: 'orders.DLT',
        key: 'order-1',
        value: record.value,
        headers: {
          ...record.headers,
          [Header.dltOriginalTopic]: 'orders',
          [Header.dltOriginalPartition]: '2',
          [Header.dltOriginalOffset]: '41',
          [Header.dltError]: 'Error: database is locked',
          [Header.dltAttempts]: '3',
          [Header.dltConsumerGroup]: 'inventory',
        },
      },
    ]);
    expect(deadLetters).toEqual([{ error: expect.any(Error), attempts: 3 }]);
  });

  it('given a PoisonRecordError, when delivering, then it is dead-lettered at once without a retry', async () => {
    const { hooks, published, retries, deadLetters } = recordingHooks();
    const handle = failing(Number.POSITIVE_INFINITY, () => new PoisonRecordError('record value is not JSON'));

    const outcome = await deliver(record, 'inventory', handle, TINY, hooks);

    expect(outcome).toBe('dead-lettered');
    expect(handle).toHaveBeenCalledTimes(1);
    expect(retries).toEqual([]);
    expect(published[0]?.headers[Header.dltAttempts]).toBe('1');
    expect(published[0]?.headers[Header.dltError]).toBe('PoisonRecordError: record value is not JSON');
    expect(deadLetters).toEqual([{ error: expect.any(PoisonRecordError), attempts: 1 }]);
  });

  it('given maxAttempts 1, when the handler fails, then it is dead-lettered without retry', async () => {
    const { hooks, published, retries } = recordingHooks();

    const outcome = await deliver(record, 'g', failing(1), { ...TINY, maxAttempts: 1 }, hooks);

    expect(outcome).toBe('dead-lettered');
    expect(retries).toEqual([]);
    expect(published).toHaveLength(1);
  });

  it('given the consumer starts closing during a retry backoff, when delivering, then it is aborted and nothing is dead-lettered', async () => {
    let closing = false;
    const { hooks, published, retries } = recordingHooks(() => closing);
    const handle = vi.fn(async () => {
      closing = true;
      throw new Error('broker gone');
    });

    const outcome = await deliver(record, 'g', handle, TINY, hooks);

    expect(outcome).toBe('aborted');
    expect(handle).toHaveBeenCalledTimes(1);
    expect(retries).toHaveLength(1);
    expect(published).toEqual([]);
  });

  it('given a thrown non-Error, when dead-lettered, then the dlt-error header is its text', async () => {
    const { hooks, published } = recordingHooks();

    await deliver(record, 'g', failing(1, () => 'plain string failure'), { ...TINY, maxAttempts: 1 }, hooks);

    expect(published[0]?.headers[Header.dltError]).toBe('plain string failure');
  });

  it('given a publish to the DLT that fails, when delivering, then the error propagates (the offset must not move on)', async () => {
    const hooks: DeliveryHooks = {
      publish: async () => {
        throw new Error('DLT unavailable');
      },
      isClosing: () => false,
    };

    await expect(deliver(record, 'g', failing(1), { ...TINY, maxAttempts: 1 }, hooks)).rejects.toThrow('DLT unavailable');
  });
});

describe('deadLetterOf', () => {
  it('given a very long error, when dead-lettered, then the dlt-error header is cut to 1000 characters', () => {
    const message = deadLetterOf(record, 'g', new Error('x'.repeat(5000)), 3);

    expect(message.headers[Header.dltError]).toHaveLength(1000);
  });

  it('given a record, when dead-lettered, then the original record is left untouched', () => {
    const before = structuredClone(record);

    deadLetterOf(record, 'g', new Error('boom'), 1);

    expect(record).toEqual(before);
  });
});

describe('backoffMs', () => {
  const policy: RetryPolicy = { maxAttempts: 10, initialBackoffMs: 200, maxBackoffMs: 5_000 };

  it.each([
    { attempt: 1, delay: 200 },
    { attempt: 2, delay: 400 },
    { attempt: 3, delay: 800 },
    { attempt: 5, delay: 3_200 },
    { attempt: 6, delay: 5_000 },
    { attempt: 30, delay: 5_000 },
  ])('given attempt $attempt failed, when computing the delay, then it is $delay ms (doubling, capped)', ({ attempt, delay }) => {
    expect(backoffMs(policy, attempt)).toBe(delay);
  });
});
