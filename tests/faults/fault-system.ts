import { randomUUID } from 'node:crypto';
import { EVENT_TOPICS, type OrderView } from '@orderflow/contracts';
import { type Bus, createBus, loadConfig } from '@orderflow/platform';
import { expect } from 'vitest';
import { type Cluster, type ClusterOptions, startCluster } from '../../apps/orderflow/src/cluster.ts';
import { TERMINAL, authEnv, eventually, request, sleep, waitForAllTerminal } from '../e2e/harness.ts';
import { type PrivateServer, startPrivateKafka, startPrivateNats, startPrivatePostgres } from './private-servers.ts';

export interface FaultSystem {
  /** The private NATS or Kafka broker. */
  broker: PrivateServer;
  postgres: PrivateServer;
  cluster: Cluster;
  urls: Record<string, string>;
  /** A client of the private broker, configured as the services are. */
  bus: Bus;
  /** Every line the services printed (LOG_LEVEL warn unless E2E_LOG_LEVEL), as `name | line`. */
  logs: readonly string[];
  stop(): Promise<void>;
}

/** What the fault tests order: stocked by startFaultSystem so that no order runs out. */
export const PRODUCTS = ['product-1', 'ABC-001', 'product-3'];

export interface FaultSystemOptions {
  /** The private broker's kind (default NATS). */
  broker?: 'nats' | 'kafka';
  /** startCluster's: crashed services started again (default: left down). */
  restartPolicy?: ClusterOptions['restartPolicy'];
  onGiveUp?: ClusterOptions['onGiveUp'];
}

/** Every service as its own process, on a private broker and a private PostgreSQL, with PRODUCTS in stock. */
export async function startFaultSystem(env: Record<string, string> = {}, options: FaultSystemOptions = {}): Promise<FaultSystem> {
  const kafka = options.broker === 'kafka';
  // Together: a first Kafka start takes seconds, initdb too.
  const started = await Promise.allSettled([kafka ? startPrivateKafka() : startPrivateNats(), startPrivatePostgres()]);
  const [brokerStart, postgresStart] = started;
  if (brokerStart.status === 'rejected' || postgresStart.status === 'rejected') {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.remove() : undefined)));
    throw brokerStart.status === 'rejected' ? brokerStart.reason : (postgresStart as PromiseRejectedResult).reason;
  }
  const broker = brokerStart.value;
  const postgres = postgresStart.value;
  const logs: string[] = [];
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      env: {
        ...authEnv(),
        ...(kafka ? { BUS: 'kafka', KAFKA_BROKERS: broker.url, KAFKA_PREFIX: 'faults.' } : { BUS: 'nats', NATS_URL: broker.url, NATS_STREAM_PREFIX: 'faults' }),
        DATABASE_URL: postgres.url,
        DATABASE_POOL_SIZE: '4',
        DATA_DIR: ':memory:',
        SAGA_MODE: 'choreography',
        SHIPPING_FAILURE_RATE: '0',
        LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
        LOG_FORMAT: 'json',
        ...env,
      },
      ports: 'free',
      restartPolicy: options.restartPolicy,
      onGiveUp: options.onGiveUp,
      // Kept for the report of a failing test; printed as they come with E2E_LOG_LEVEL set.
      output: (name, line) => {
        logs.push(`${name} | ${line}`);
        if (process.env.E2E_LOG_LEVEL) process.stdout.write(`${name.padEnd(12)} | ${line}\n`);
      },
    });
  } catch (error) {
    await Promise.all([broker.remove(), postgres.remove()]);
    throw error;
  }
  const bus = createBus(loadConfig(cluster.env));
  for (const productId of PRODUCTS) await request(`${cluster.urls.inventory}/inventory/${productId}/restock`, { body: { quantity: 1_000 } });
  return {
    broker,
    postgres,
    cluster,
    urls: cluster.urls,
    bus,
    logs,
    async stop() {
      try {
        await cluster.stop();
      } finally {
        await bus.close().catch(() => undefined);
        await Promise.all([broker.remove(), postgres.remove()]);
      }
    },
  };
}

/** Every service's /ready, by name. */
export async function readiness(urls: Record<string, string>): Promise<Record<string, boolean>> {
  const entries = await Promise.all(
    Object.entries(urls).map(async ([name, url]) => {
      const ready = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      return [name, ready] as const;
    }),
  );
  return Object.fromEntries(entries);
}

export const waitUntilAllReady = (urls: Record<string, string>, ready: boolean, timeoutMs = 60_000) =>
  eventually(async () => {
    const states = await readiness(urls);
    return Object.values(states).every((s) => s === ready) ? states : undefined;
  }, `every service's /ready to be ${ready}`, timeoutMs);

export interface OrderStream {
  /** Orders the service accepted (202), each with the Idempotency-Key it was placed with. */
  accepted: Map<string, { orderId: string; productId: string }>;
  /** POSTs that failed and were sent again with the same Idempotency-Key. */
  retried(): number;
  /** Stops placing new orders; resolves once every order placed so far was accepted. */
  stop(): Promise<void>;
}

/**
 * A client placing `ratePerSecond` orders of one unit, round robin over products. Like a
 * careful client, it sends a failed request again with the same Idempotency-Key until
 * it is accepted: every order it meant to place exists exactly once.
 */
export function streamOrders(urls: Record<string, string>, options: { ratePerSecond: number; products: string[] }): OrderStream {
  const accepted = new Map<string, { orderId: string; productId: string }>();
  const pending = new Set<Promise<void>>();
  let retries = 0;
  let running = true;
  let placed = 0;

  const place = async (key: string, productId: string) => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const result = await request<{ orderId?: string }>(`${urls.order}/orders`, {
        body: { customerId: `fault-${key.slice(0, 8)}`, items: [{ productId, quantity: 1 }] },
        headers: { 'idempotency-key': key },
      }).catch(() => undefined);
      if (result?.status === 202 && result.body.orderId) {
        accepted.set(key, { orderId: result.body.orderId, productId });
        return;
      }
      if (Date.now() > deadline) throw new Error(`order ${key} was never accepted (last status ${result?.status})`);
      retries++;
      await sleep(200);
    }
  };

  const loop = (async () => {
    const startedAt = Date.now();
    while (running) {
      const due = Math.floor(((Date.now() - startedAt) / 1000) * options.ratePerSecond);
      for (; placed < due; placed++) {
        const p = place(randomUUID(), options.products[placed % options.products.length]!).finally(() => pending.delete(p));
        pending.add(p);
      }
      await sleep(10);
    }
  })();

  return {
    accepted,
    retried: () => retries,
    async stop() {
      running = false;
      await loop;
      await Promise.all(pending);
    },
  };
}

interface Counted {
  type: string;
  orderId: string;
  id: string;
}

/**
 * Every order ended, completed (nothing here fails on purpose), and nothing happened
 * twice: one order per Idempotency-Key, one payment, shipment and notification per
 * order, one event of each kind per order on the log (a record published twice keeps
 * its event id), stock taken once per unit, and no dead letters.
 */
export async function expectEveryOrderCompletedOnce(
  system: FaultSystem,
  stream: OrderStream,
  stockBefore: Record<string, number>,
  mark: (what: string) => void = () => undefined,
  /** Orders the system had before this stream (an earlier test's in the same file). */
  ordersBefore = 0,
) {
  const { urls } = system;
  const orders = [...stream.accepted.values()];
  const ids = orders.map((o) => o.orderId);
  expect(new Set(ids).size).toBe(ids.length);

  // Fails after a minute in which no order ended (longer than any reconnect or rejoin takes),
  // and then says where the rest stopped: a CI failure must be readable from its log alone.
  try {
    await waitForAllTerminal(urls, ids, 60_000);
  } catch (error) {
    throw new Error(`${String(error)}\n${await whereOrdersStopped(system, ids)}`);
  }
  mark(`all ${ids.length} orders terminal (${stream.retried()} requests sent again)`);

  const listed = await request<{ total: number; items: { orderId: string; status: string }[] }>(`${urls.order}/orders?limit=500`);
  expect(listed.body.total).toBe(ordersBefore + ids.length); // no order lost, none made twice by a retried request
  expect(listed.body.items.filter((o) => o.status !== 'COMPLETED')).toEqual([]);
  for (const id of ids) expect((await request(`${urls.status}/status/${id}`)).body.status).toBe('COMPLETED');

  for (const id of ids) {
    const payment = await request<{ status: string; amount: number }>(`${urls.payment}/payments/${id}`);
    expect(payment.body.status).toBe('COMPLETED');
    expect((await request(`${urls.shipping}/shipments/${id}`)).status).toBe(200);
    // One by one: a long outage's stream has more orders than a page holds.
    const notifications = await request<{ items: { orderId: string }[] }>(`${urls.notification}/notifications?orderId=${id}`);
    expect(notifications.body.items, `notifications of ${id}`).toHaveLength(1);
  }

  for (const [productId, before] of Object.entries(stockBefore)) {
    const sold = orders.filter((o) => o.productId === productId).length;
    const available = (await request<{ available: number }>(`${urls.inventory}/inventory/${productId}`)).body.available;
    expect(available, `stock of ${productId}`).toBe(before - sold);
  }

  // The log: one event of each kind per order, whatever was redelivered or published again.
  const events: Counted[] = [];
  for (const topic of EVENT_TOPICS) {
    for (const record of await system.bus.readAll(topic)) {
      const event = JSON.parse(record.value) as Counted;
      events.push({ type: event.type, orderId: event.orderId, id: event.id });
    }
  }
  const distinct = new Map<string, Set<string>>();
  for (const e of events) {
    const key = `${e.orderId} ${e.type}`;
    distinct.set(key, (distinct.get(key) ?? new Set()).add(e.id));
  }
  for (const id of ids) {
    for (const type of ['OrderCreated', 'InventoryConfirmed', 'PaymentCompleted', 'Shipped', 'NotificationSent', 'OrderCompleted']) {
      expect(distinct.get(`${id} ${type}`)?.size, `${type} of ${id}`).toBe(1);
    }
  }
  for (const [name, url] of Object.entries(urls)) {
    const dead = await request<{ items: unknown[] }>(`${url}/admin/dead-letters`);
    expect(dead.body.items, `dead letters of ${name}`).toEqual([]);
  }
}

/** The orders not yet terminal, by their status and last step, then every service's readiness and last log lines. */
async function whereOrdersStopped(system: FaultSystem, ids: readonly string[]): Promise<string> {
  const stopped = new Map<string, string[]>();
  for (const id of ids) {
    const view = await request<OrderView>(`${system.urls.status}/status/${id}`).catch(() => undefined);
    if (view?.status === 200 && TERMINAL.includes(view.body.status)) continue;
    const where = view?.status === 200 ? `${view.body.status} after ${view.body.timeline.at(-1)?.type ?? 'nothing'}` : `HTTP ${view?.status ?? 'unanswered'}`;
    stopped.set(where, [...(stopped.get(where) ?? []), id]);
  }
  return [
    'orders not terminal, by status and last event:',
    ...[...stopped].map(([where, orders]) => `  ${where}: ${orders.length} (${orders.slice(0, 3).join(', ')})`),
    `readiness: ${JSON.stringify(await readiness(system.urls))}`,
    'the services\' last log lines:',
    ...system.logs.slice(-80).map((line) => `  ${line}`),
  ].join('\n');
}

/** Prints how long each phase of a fault scenario took, for reading test logs. */
export function timeline(name: string) {
  const startedAt = Date.now();
  return (what: string) => console.info(`[faults] ${name}: ${what} at ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
}

/** How many orders the order service has. */
export const orderCount = async (urls: Record<string, string>) => (await request<{ total: number }>(`${urls.order}/orders?limit=1`)).body.total;

/** What the inventory service has of each product now. */
export async function stockOf(urls: Record<string, string>, products: string[]): Promise<Record<string, number>> {
  const entries = await Promise.all(
    products.map(async (p) => [p, (await request<{ available: number }>(`${urls.inventory}/inventory/${p}`)).body.available] as const),
  );
  return Object.fromEntries(entries);
}
