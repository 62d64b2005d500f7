import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderView, StatusSocketMessage } from '@orderflow/contracts';
import { BEARER_SUBPROTOCOL, type Bus, type ServiceName, createBus, createRootLogger, deleteKafkaScope, deleteNatsStreams, loadConfig, requestDevToken } from '@orderflow/platform';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { type Cluster, startCluster } from '../../apps/orderflow/src/cluster.ts';
import { startSystem } from '../../apps/orderflow/src/system.ts';
import { startThreadedSystem, threadServices } from '../../apps/orderflow/src/threaded-system.ts';
import { createTestDatabase, findTestPostgres } from '../../packages/platform/src/database/test-databases.ts';
import { kafkaBrokers } from '../support/required-services.ts';

/** The saga mode of this run (the vitest project sets SAGA_MODE). */
export const sagaMode = process.env.SAGA_MODE === 'orchestration' ? 'orchestration' : 'choreography';
/**
 * What the suites run against (the vitest project sets E2E_TARGET): every service in
 * this process on the embedded broker, in one thread or spread over two as `npm start`
 * does (threads), or every service as its own process on NATS and PostgreSQL (npm run
 * start:cluster).
 */
export const e2eTarget = process.env.E2E_TARGET === 'cluster' ? 'cluster' : process.env.E2E_TARGET === 'threads' ? 'threads' : 'embedded';
/** The cluster's broker (the vitest project sets E2E_BROKER): NATS, or Kafka at KAFKA_BROKERS (default 127.0.0.1:9092). */
export const e2eBroker = process.env.E2E_BROKER === 'kafka' ? 'kafka' : 'nats';

/** One service stopped and started again while the others keep running, in either target. */
export interface ServiceControl {
  stopService(name: ServiceName): Promise<void>;
  startService(name: ServiceName): Promise<void>;
}

export interface TestSystem {
  urls: Record<string, string>;
  /** Embedded: the in-process system. Cluster: stops (SIGTERM) and starts one service's process. */
  system: ServiceControl;
  /** A handle on the system's broker, configured as the services are (to read topics and inject records). */
  bus: Bus;
  /** Embedded: the data folder (':memory:' unless persistent). Cluster: the PostgreSQL database's URL. */
  dataDir: string;
  /** Stops every service gracefully and starts them again on the same data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The issuer of this test run (tests/support/dev-issuer-setup.ts): every system trusts it. */
export const authEnv = (): Record<string, string> => ({ AUTH_ISSUER: inject('devIssuerUrl') });

const tokens = new Map<string, Promise<string>>();
/**
 * A token from the run's issuer, one per caller, reused (they last hours): the operator's,
 * or a customer's whose id is `customerId`.
 */
export function tokenFor(caller: 'operator' | { customerId: string }): Promise<string> {
  const key = caller === 'operator' ? 'operator' : `customer:${caller.customerId}`;
  let token = tokens.get(key);
  if (!token) {
    token = requestDevToken(inject('devIssuerUrl'), caller === 'operator' ? { role: 'operator' } : { role: 'customer', subject: caller.customerId });
    tokens.set(key, token);
  }
  return token;
}

/** What every test system runs with: shipping never fails at random (tests use the deterministic triggers), quick retries. */
const baseEnv = (): Record<string, string> => ({
  ...authEnv(),
  LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
  LOG_FORMAT: 'json',
  SHIPPING_FAILURE_RATE: '0',
  HANDLER_RETRY_BACKOFF_MS: '20',
  SAGA_MODE: sagaMode,
});

/** The whole system on free ports, with its own data: in this process or as a cluster (E2E_TARGET). */
export async function startTestSystem(env: Record<string, string> = {}, options: { persistent?: boolean } = {}): Promise<TestSystem> {
  return e2eTarget === 'cluster' ? startClusterTestSystem(env) : startEmbeddedTestSystem(env, options);
}

async function startEmbeddedTestSystem(env: Record<string, string>, options: { persistent?: boolean }): Promise<TestSystem> {
  const dataDir = options.persistent ? mkdtempSync(join(tmpdir(), 'orderflow-e2e-')) : ':memory:';
  const config = loadConfig({ DATA_DIR: dataDir, ...baseEnv(), ...env });
  const logger = createRootLogger(config);
  // THREAD_SERVICES' default split, whatever the machine's cores.
  const threaded = threadServices(config, { THREAD_SERVICES: 'order,notification,shipping' });
  const start = () =>
    e2eTarget === 'threads' ? startThreadedSystem(config, logger, threaded, { freePorts: true }) : startSystem(config, logger, { freePorts: true });
  let system = await start();
  const handle: TestSystem = {
    urls: system.urls,
    system,
    bus: system.bus,
    dataDir,
    async restart() {
      await system.stop();
      system = await start();
      handle.system = system;
      handle.urls = system.urls;
      handle.bus = system.bus;
    },
    async stop() {
      await system.stop();
      if (dataDir !== ':memory:') rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * Every service as its own process, on NATS or Kafka (E2E_BROKER) and PostgreSQL: a
 * database of its own (orderflow_e2e_<random>) and a stream or topic-and-group prefix of
 * its own, all removed by stop(). Data always persists (the database), so `persistent`
 * changes nothing here.
 */
async function startClusterTestSystem(env: Record<string, string>): Promise<TestSystem> {
  const { url: serverUrl, reason } = await findTestPostgres();
  if (!serverUrl) throw new Error(`E2E_TARGET=cluster needs PostgreSQL: ${reason}`);
  const scope = `e2e_${randomBytes(6).toString('hex')}`;
  const database = await createTestDatabase(serverUrl, 'orderflow_e2e');
  const brokerEnv = e2eBroker === 'kafka' ? kafkaScopeEnv(scope) : natsScopeEnv(scope);
  const clusterEnv = {
    ...baseEnv(),
    ...brokerEnv.env,
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '4',
    DATA_DIR: ':memory:',
    ...env,
  };
  const removeAll = async () => {
    await brokerEnv.remove().catch((error: unknown) => console.error(`[e2e cluster] could not delete the broker scope ${scope}: ${String(error)}`));
    await database.drop();
  };
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      env: clusterEnv,
      ports: 'free',
      output: process.env.E2E_LOG_LEVEL ? (name, line) => process.stdout.write(`${name.padEnd(12)} | ${line}\n`) : () => undefined,
      onUnexpectedExit: (name, code, signal) =>
        console.error(`[e2e cluster] ${name} exited unexpectedly (code ${code}, signal ${signal}); its last lines:\n${cluster.lastLines(name).join('\n')}`),
    });
  } catch (error) {
    await removeAll();
    throw error;
  }
  const bus = createBus(loadConfig(cluster.env));
  return {
    urls: cluster.urls,
    system: {
      stopService: async (name) => void (await cluster.kill(name, 'SIGTERM')),
      startService: (name) => cluster.start(name),
    },
    bus,
    dataDir: database.url,
    restart: () => cluster.restart(),
    async stop() {
      try {
        await cluster.stop();
      } finally {
        await bus.close().catch(() => undefined);
        await removeAll();
      }
    },
  };
}

interface BrokerScope {
  env: Record<string, string>;
  /** Deletes what the run created on the broker. */
  remove(): Promise<void>;
}

/** NATS streams named <scope>_*. */
function natsScopeEnv(scope: string): BrokerScope {
  const natsUrl = process.env.NATS_URL || 'nats://127.0.0.1:4222';
  return {
    env: { BUS: 'nats', NATS_URL: natsUrl, NATS_STREAM_PREFIX: scope },
    remove: () => deleteNatsStreams({ url: natsUrl, streamPrefix: scope }),
  };
}

/**
 * Kafka topics and consumer groups named e2e-<random>.*: beside a live system on the same
 * broker, nothing is shared. No underscore: Kafka warns that '.' and '_' collide in metric names.
 */
export function kafkaScopeEnv(scope: string, brokers = kafkaBrokers()): BrokerScope {
  const prefix = `${scope.replaceAll('_', '-')}.`;
  return {
    env: { BUS: 'kafka', KAFKA_BROKERS: brokers, KAFKA_PREFIX: prefix },
    remove: () => deleteKafkaScope({ brokers: brokers.split(','), prefix }),
  };
}

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestInit {
  method?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** The bearer token to send; null: none (an anonymous caller). Default: the operator's, as the suites' tooling. */
  token?: string | null;
}

export async function request<T = any>(url: string, init: RequestInit = {}): Promise<HttpResult<T>> {
  const hasBody = init.body !== undefined || init.raw !== undefined;
  const token = init.token === undefined ? await tokenFor('operator') : init.token;
  const response = await fetch(url, {
    method: init.method ?? (hasBody ? 'POST' : 'GET'),
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
    body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: body as T, headers: response.headers };
}

export { sleep };

/** Polls until check returns a value, or fails with what it last saw. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(20);
  }
}

export const TERMINAL = ['COMPLETED', 'CANCELLED_NO_STOCK', 'PAYMENT_FAILED', 'SHIPMENT_FAILED', 'CANCELLED'];

export async function placeOrder(urls: Record<string, string>, body: unknown, path = '/orders', headers: Record<string, string> = {}, token?: string | null) {
  return request<{ orderId: string; status: string; total: number; error?: string; message?: string }>(`${urls.order}${path}`, { body, headers, token });
}

/** The status service's view of an order once it satisfies the predicate. */
export async function waitForView(urls: Record<string, string>, orderId: string, predicate: (view: OrderView) => boolean, what = 'order view') {
  return eventually(async () => {
    const result = await request<OrderView>(`${urls.status}/status/${orderId}`);
    return result.status === 200 && predicate(result.body) ? result.body : undefined;
  }, `${what} of ${orderId}`);
}

export const waitForTerminal = (urls: Record<string, string>, orderId: string) =>
  waitForView(urls, orderId, (v) => TERMINAL.includes(v.status), 'a terminal status');

/**
 * The terminal views of many orders, in the order of ids. It polls the ones still pending,
 * a round at a time (one poller per order, every 20 ms, would be hundreds of requests per
 * second competing with the system it waits for), and fails only when a round of
 * idleMs passes in which no order ended: a slow machine gets more time, a stuck order does not.
 */
export async function waitForAllTerminal(urls: Record<string, string>, ids: readonly string[], idleMs = 15_000): Promise<OrderView[]> {
  const ended = new Map<string, OrderView>();
  let lastProgress = Date.now();
  for (;;) {
    const pending = ids.filter((id) => !ended.has(id));
    if (pending.length === 0) return ids.map((id) => ended.get(id)!);
    for (let i = 0; i < pending.length; i += 20) {
      const views = await Promise.all(pending.slice(i, i + 20).map((id) => request<OrderView>(`${urls.status}/status/${id}`)));
      for (const [index, result] of views.entries()) {
        if (result.status === 200 && TERMINAL.includes(result.body.status)) {
          ended.set(pending[i + index]!, result.body);
          lastProgress = Date.now();
        }
      }
    }
    if (Date.now() - lastProgress > idleMs) {
      const still = ids.filter((id) => !ended.has(id));
      throw new Error(`timed out waiting for a terminal status: ${still.length} of ${ids.length} orders (${still.slice(0, 5).join(', ')}…) had none, and none ended in ${idleMs} ms`);
    }
    await sleep(100);
  }
}

export async function stockOf(urls: Record<string, string>, productId: string): Promise<number> {
  const result = await request<{ available: number }>(`${urls.inventory}/inventory/${productId}`);
  return result.body.available;
}

/**
 * A WebSocket client that records every message. The token travels as a browser's would:
 * the subprotocols `bearer, <token>` (default: the operator's; null: none).
 */
export async function openSocket(url: string, token?: string | null) {
  const bearer = token === undefined ? await tokenFor('operator') : token;
  const socket = new WebSocket(url, bearer ? [BEARER_SUBPROTOCOL, bearer] : []);
  const messages: StatusSocketMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as StatusSocketMessage));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    async waitFor(predicate: (message: StatusSocketMessage) => boolean, what: string) {
      return eventually(async () => messages.find(predicate), what);
    },
    close: () => socket.close(),
  };
}
