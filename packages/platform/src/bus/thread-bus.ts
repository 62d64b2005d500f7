import type { MessagePort } from 'node:worker_threads';
import { type BatchOutcome, type Bus, type BusRecord, PoisonRecordError, type SubscribeOptions, type Subscription } from './bus.ts';

/**
 * The embedded broker reached from another thread of the same process: `serveBus` runs
 * next to the broker and `createThreadBus` is the Bus a worker thread's services use.
 * Every guarantee is the broker's own (partitions, groups, offsets, retries, the DLT):
 * delivery, retries and commits happen in the broker's thread, and only the handler call
 * crosses to the worker and back. It lets `npm start` spread its services over two cores.
 */

interface WireError {
  name: string;
  message: string;
}

type SubscribeWire = Pick<SubscribeOptions, 'group' | 'topics' | 'fromBeginning' | 'replay' | 'retry' | 'batchMax'> & {
  sub: number;
  /** The subscriber has handleBatch: the broker's thread sends it batches. */
  batches: boolean;
  ignoredTypes?: string[];
  onRetry: boolean;
  onDeadLetter: boolean;
};

type ToHost =
  | { t: 'call'; id: number; op: 'ensureTopics'; topics: readonly string[] }
  | { t: 'call'; id: number; op: 'publish'; messages: Parameters<Bus['publish']>[0] }
  | { t: 'call'; id: number; op: 'subscribe'; options: SubscribeWire }
  | { t: 'call'; id: number; op: 'readAll'; topic: string }
  | { t: 'call'; id: number; op: 'isReady' | 'close' }
  | { t: 'call'; id: number; op: 'sub.close' | 'sub.caughtUp' | 'sub.lag'; sub: number }
  | { t: 'handled'; id: number; error?: WireError; batch?: BatchWire };

type ToClient =
  | { t: 'result'; id: number; value?: unknown; error?: WireError }
  | { t: 'handle'; id: number; sub: number; record: BusRecord }
  | { t: 'handleBatch'; id: number; sub: number; records: readonly BusRecord[] }
  | { t: 'deadLetter'; id: number; sub: number; record: BusRecord; error: WireError; attempts: number }
  | { t: 'retry'; sub: number; record: BusRecord; attempt: number; error: WireError };

/** A BatchOutcome across threads: the error as WireError. */
type BatchWire = { handled: number; error?: WireError };

/** Omit over each member of a union (TypeScript's Omit merges the members first). */
type Without<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const toWire = (error: unknown): WireError =>
  error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };

/** The error as the other side threw it: a poison record stays one, so it is dead-lettered at once. */
const fromWire = (wire: WireError): Error =>
  wire.name === 'PoisonRecordError' ? new PoisonRecordError(wire.message) : Object.assign(new Error(wire.message), { name: wire.name });

/** Serves `bus` to one client thread over `port`; the client's subscriptions end with it. */
export function serveBus(bus: Bus, port: MessagePort): void {
  const subscriptions = new Map<number, Subscription>();
  const waiting = new Map<number, { resolve(batch?: BatchWire): void; reject(error: Error): void }>();
  let nextId = 1;
  let gone = false;

  /** Asks the client to run a handler (or a hook) and waits for its answer. */
  const ask = (message: Without<Extract<ToClient, { t: 'handle' | 'handleBatch' | 'deadLetter' }>, 'id'>) =>
    new Promise<BatchWire | undefined>((resolve, reject) => {
      if (gone) return reject(new Error('the thread that subscribed is gone'));
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      port.postMessage({ ...message, id } as ToClient);
    });

  const closeAll = async () => {
    const open = [...subscriptions.values()];
    subscriptions.clear();
    await Promise.all(open.map((s) => s.close()));
  };

  async function call(message: Extract<ToHost, { t: 'call' }>): Promise<unknown> {
    switch (message.op) {
      case 'ensureTopics':
        return bus.ensureTopics(message.topics);
      case 'publish':
        return bus.publish(message.messages);
      case 'readAll':
        return bus.readAll(message.topic);
      case 'isReady':
        return bus.isReady();
      case 'close':
        return closeAll();
      case 'subscribe': {
        const { sub, onRetry, onDeadLetter, ignoredTypes, batches, ...options } = message.options;
        subscriptions.set(
          sub,
          await bus.subscribe({
            ...options,
            // Skipped in this thread: an ignored record never crosses to the subscriber's.
            ...(ignoredTypes ? { ignoredTypes: new Set(ignoredTypes) } : {}),
            handle: async (record) => void (await ask({ t: 'handle', sub, record })),
            ...(batches
              ? {
                  handleBatch: async (records: readonly BusRecord[]): Promise<BatchOutcome> => {
                    const outcome = (await ask({ t: 'handleBatch', sub, records })) ?? { handled: 0 };
                    return outcome.error ? { handled: outcome.handled, error: fromWire(outcome.error) } : { handled: outcome.handled };
                  },
                }
              : {}),
            onRetry: onRetry ? (record, attempt, error) => port.postMessage({ t: 'retry', sub, record, attempt, error: toWire(error) } satisfies ToClient) : undefined,
            onDeadLetter: onDeadLetter ? async (record, error, attempts) => void (await ask({ t: 'deadLetter', sub, record, error: toWire(error), attempts })) : undefined,
          }),
        );
        return undefined;
      }
      case 'sub.close': {
        const subscription = subscriptions.get(message.sub);
        subscriptions.delete(message.sub);
        return subscription?.close();
      }
      case 'sub.caughtUp':
        return subscriptions.get(message.sub)?.caughtUp();
      case 'sub.lag':
        return subscriptions.get(message.sub)?.lag() ?? [];
    }
  }

  port.on('message', (message: ToHost) => {
    if (message.t === 'handled') {
      const waiter = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) waiter?.reject(fromWire(message.error));
      else waiter?.resolve(message.batch);
      return;
    }
    call(message).then(
      (value) => port.postMessage({ t: 'result', id: message.id, value } satisfies ToClient),
      (error: unknown) => port.postMessage({ t: 'result', id: message.id, error: toWire(error) } satisfies ToClient),
    );
  });
  // The client thread ended (or crashed): what it was handling is left uncommitted, to be
  // delivered again, and its subscriptions leave their groups.
  port.on('close', () => {
    gone = true;
    for (const waiter of waiting.values()) waiter.reject(new Error('the thread that subscribed is gone'));
    waiting.clear();
    void closeAll();
  });
}

/** The Bus a worker thread's services use: the broker served by `serveBus` over `port`. */
export function createThreadBus(port: MessagePort): Bus {
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const handlers = new Map<number, SubscribeOptions>();
  let nextId = 1;
  let closed = false;

  const call = <T>(message: Without<Extract<ToHost, { t: 'call' }>, 'id' | 't'>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      port.postMessage({ ...message, t: 'call', id } as ToHost);
    });

  port.on('message', (message: ToClient) => {
    switch (message.t) {
      case 'result': {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) waiter?.reject(fromWire(message.error));
        else waiter?.resolve(message.value);
        return;
      }
      case 'handleBatch': {
        const handleBatch = handlers.get(message.sub)?.handleBatch;
        Promise.resolve(handleBatch?.(message.records)).then(
          (outcome) => {
            const batch: BatchWire = outcome
              ? { handled: outcome.handled, ...(outcome.handled < message.records.length ? { error: toWire(outcome.error) } : {}) }
              : { handled: 0, error: toWire(new Error('the subscription is gone')) };
            port.postMessage({ t: 'handled', id: message.id, batch } satisfies ToHost);
          },
          (error: unknown) => port.postMessage({ t: 'handled', id: message.id, error: toWire(error) } satisfies ToHost),
        );
        return;
      }
      case 'handle':
      case 'deadLetter': {
        const options = handlers.get(message.sub);
        const run =
          message.t === 'handle'
            ? options?.handle(message.record)
            : options?.onDeadLetter?.(message.record, fromWire(message.error), message.attempts);
        Promise.resolve(run).then(
          () => port.postMessage({ t: 'handled', id: message.id } satisfies ToHost),
          (error: unknown) => port.postMessage({ t: 'handled', id: message.id, error: toWire(error) } satisfies ToHost),
        );
        return;
      }
      case 'retry':
        handlers.get(message.sub)?.onRetry?.(message.record, message.attempt, fromWire(message.error));
        return;
    }
  });

  return {
    kind: 'embedded',
    ensureTopics: (topics) => call({ op: 'ensureTopics', topics }),
    publish: async (messages) => {
      if (closed) throw new Error('bus is closed');
      await call({ op: 'publish', messages });
    },
    async subscribe(options) {
      if (closed) throw new Error('bus is closed');
      const sub = nextId++;
      handlers.set(sub, options);
      const { group, topics, fromBeginning, replay, retry, batchMax } = options;
      const ignoredTypes = options.ignoredTypes ? [...options.ignoredTypes] : undefined;
      await call({ op: 'subscribe', options: { sub, group, topics, fromBeginning, replay, retry, batchMax, ignoredTypes, batches: !!options.handleBatch, onRetry: !!options.onRetry, onDeadLetter: !!options.onDeadLetter } });
      return {
        close: async () => {
          await call({ op: 'sub.close', sub });
          handlers.delete(sub);
        },
        caughtUp: () => call({ op: 'sub.caughtUp', sub }),
        lag: () => call({ op: 'sub.lag', sub }),
      };
    },
    readAll: (topic) => call({ op: 'readAll', topic }),
    isReady: async () => !closed && (await call<boolean>({ op: 'isReady' })),
    async close() {
      if (closed) return;
      closed = true;
      await call({ op: 'close' });
      port.close();
    },
  };
}
