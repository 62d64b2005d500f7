import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrderView, type StatusSocketMessage, isTerminal } from '@orderflow/contracts';
import { type Bus, type BusRecord, type ServiceMigration, BEARER_SUBPROTOCOL, createBus, deleteKafkaScope, deleteNatsStreams, loadConfig, openDatabase, requestDevToken, startDevIssuer } from '@orderflow/platform';
import WebSocket from 'ws';
import { createTestDatabase } from '../../../packages/platform/src/database/test-databases.ts';
import { callSystem, percentileOf, round, startBenchSystem } from './bench-system.ts';
import { runHistoryBenchmark } from './history-bench.ts';
import { type OrderTimes, timeSinceSent } from './order-steps.ts';
import { type CpuWatchOptions, cpuPerCompleted, watchCpu } from './process-cpu.ts';

const HELP = `npm run bench -- [options]

Places orders over HTTP and measures, for each, the time from sending POST /orders to
seeing it COMPLETED on the status WebSocket. Or, with --baseline, measures the broker
alone: a chain of sequential hops with no business logic, for reading the system's
figures as ratios; with --baseline durable each hop also commits a row to a database
first (the least a durable saga pays per hop). Each run also reports the CPU time per
completed order, over its own processes, the broker's and PostgreSQL's.

  --broker B      embedded | nats | kafka (default embedded)
  --database D    sqlite | postgres (default sqlite)
  --processes P   single: every service in one child process (as npm start);
                  cluster: one process per service (as npm run start:cluster).
                  Default: single with the embedded broker (the only choice), else cluster.
  --rate N        orders per second (open loop); 0 = as fast as possible (default 0)
                  completedPerSecond counts completions while the load runs; what a
                  backlog completes afterwards is completedAfterLoad
  --duration S    seconds of load (default 10)
  --concurrency C orders in flight when --rate is 0 (default 64): each worker places an
                  order and waits until it has ended before placing the next
  --warmup S      seconds of unmeasured load first (default 2)
  --partitions P  partitions per topic (default 3)
  --mode M        choreography | orchestration: the saga mode (default choreography)
  --memory        SQLite databases in memory instead of files (single process only)
  --baseline K    a hop chain instead of the system: raw (the broker alone; --baseline
                  with no value means raw) or durable (each hop first commits one row
                  to its database: a SQLite file, or PostgreSQL with --database postgres)
  --history N     instead of load: give the system N orders of history (their events
                  written into the log; embedded or nats), then measure restart to all
                  ready, memory after it, GET /status (first page, filtered), GET
                  /status/:id, /ws connect-to-snapshot and the projection's rebuild
  --history-via-services
                  with --history: place the N orders through the API instead (slow)
  --hops H        hops in the chain (default 5, as an order's critical path:
                  OrderCreated, InventoryConfirmed, PaymentCompleted, Shipped, OrderCompleted)

Servers come from the environment: NATS_URL (default nats://127.0.0.1:4222),
KAFKA_BROKERS (required for kafka), DATABASE_URL (the PostgreSQL server, default
postgres://postgres@127.0.0.1:5432/postgres). Each run uses a database of its own
(orderflow_bench_<random>) and NATS streams (bench_<random>_*) or Kafka topics and
consumer groups (KAFKA_PREFIX=bench-<random>.) of its own, all removed at the end.
`;

// `--baseline` alone means `--baseline raw`: parseArgs wants a value for a string option.
const args = process.argv.slice(2).flatMap((arg, i, all) => (arg === '--baseline' && (all[i + 1] === undefined || all[i + 1]!.startsWith('--')) ? [arg, 'raw'] : [arg]));
const { values } = parseArgs({
  args,
  options: {
    broker: { type: 'string', default: 'embedded' },
    database: { type: 'string', default: 'sqlite' },
    processes: { type: 'string' },
    rate: { type: 'string', default: '0' },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '2' },
    partitions: { type: 'string', default: '3' },
    mode: { type: 'string', default: 'choreography' },
    memory: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    hops: { type: 'string', default: '5' },
    history: { type: 'string' },
    'history-via-services': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const fail = (message: string): never => {
  process.stderr.write(`bench: ${message}\n\n${HELP}`);
  process.exit(2);
};
const broker = values.broker;
const database = values.database;
if (broker !== 'embedded' && broker !== 'nats' && broker !== 'kafka') fail(`--broker must be embedded, nats or kafka, not ${broker}`);
if (database !== 'sqlite' && database !== 'postgres') fail(`--database must be sqlite or postgres, not ${database}`);
if (values.baseline !== undefined && values.baseline !== 'raw' && values.baseline !== 'durable') fail(`--baseline must be raw or durable, not ${values.baseline}`);
const baseline = values.baseline === 'raw' || values.baseline === 'durable' ? values.baseline : undefined;
const processes = values.processes ?? (broker === 'embedded' ? 'single' : 'cluster');
if (processes !== 'single' && processes !== 'cluster') fail(`--processes must be single or cluster, not ${processes}`);
if (processes === 'cluster' && broker === 'embedded') fail('--processes cluster needs a broker every process can reach: --broker nats or kafka');
if (processes === 'cluster' && values.memory) fail('--memory keeps each database inside its process: use it with --processes single');
if (broker === 'kafka' && !(process.env.KAFKA_BROKERS || process.env.KAFKA_BROKER)) fail('--broker kafka needs KAFKA_BROKERS=host:port');
const rate = Number(values.rate);
const duration = Number(values.duration);
const concurrency = Number(values.concurrency);
const warmup = Number(values.warmup);
const hops = Number(values.hops);
const historyOrders = values.history === undefined ? undefined : Number(values.history);
if (historyOrders !== undefined && !(Number.isInteger(historyOrders) && historyOrders > 0)) fail(`--history must be a whole number of orders above 0, not ${values.history}`);
if (historyOrders !== undefined && baseline) fail('--history measures the system: leave out --baseline');
if (historyOrders !== undefined && values.memory) fail('--history restarts the system, which keeps nothing with --memory');
if (historyOrders !== undefined && broker === 'kafka' && !values['history-via-services']) fail('--history writes into the embedded broker or NATS: with --broker kafka add --history-via-services');
if (values['history-via-services'] && historyOrders === undefined) fail('--history-via-services needs --history N');

// ---- what the run uses: a broker scope and a database of its own, removed at the end ----

const runId = randomBytes(4).toString('hex');
const cleanups: Array<() => Promise<void>> = [];
const dataDir = values.memory ? ':memory:' : mkdtempSync(join(tmpdir(), 'orderflow-bench-'));
if (dataDir !== ':memory:') cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));

const env: Record<string, string> = {
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  SHIPPING_FAILURE_RATE: '0',
  BUS_PARTITIONS: values.partitions,
  BUS: broker,
  DATABASE_URL: '',
  SAGA_MODE: values.mode,
};
if (broker === 'nats') {
  const natsUrl = process.env.NATS_URL || 'nats://127.0.0.1:4222';
  Object.assign(env, { NATS_URL: natsUrl, NATS_STREAM_PREFIX: `bench_${runId}` });
  cleanups.push(() => deleteNatsStreams({ url: natsUrl, streamPrefix: `bench_${runId}` }));
}
if (broker === 'kafka') {
  // Named here, not only inherited: the baseline's bus is configured from this env alone.
  for (const [name, value] of Object.entries(process.env)) if (name.startsWith('KAFKA_') && value) env[name] = value;
  env.KAFKA_PREFIX = `bench-${runId}.`;
  const settings = loadConfig(env).bus;
  if (settings.kind === 'kafka') cleanups.push(() => deleteKafkaScope({ brokers: settings.brokers, prefix: settings.prefix, ssl: settings.ssl, sasl: settings.sasl }));
}
if (database === 'postgres' && baseline !== 'raw') {
  const created = await createTestDatabase(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres', 'orderflow_bench');
  env.DATABASE_URL = created.url;
  cleanups.push(created.drop);
}
/** Whose CPU time a run counts: the processes it starts, the broker's and its PostgreSQL database's. */
const cpuWatch: CpuWatchOptions = {
  broker: broker === 'nats' || broker === 'kafka' ? broker : 'embedded',
  postgresDatabase: env.DATABASE_URL ? new URL(env.DATABASE_URL).pathname.slice(1) : undefined,
};
// The run's identity provider: the system verifies its tokens, as it would a real issuer's.
// One token per customer, fetched before the load and reused, so that signing in costs the
// measurement nothing; the services verify each token (a signature check per request) as in production.
const issuer = baseline ? undefined : await startDevIssuer({ dataDir: ':memory:', host: '127.0.0.1', port: 0 });
if (issuer) {
  env.AUTH_ISSUER = issuer.url;
  cleanups.push(issuer.stop);
}
/** Orders are spread over this many customers (each with its own token). */
const CUSTOMERS = 64;
// Each of them places hundreds of orders a minute, past any person's: the per-customer
// limit (ORDER_RATE_LIMIT, 60 a minute by default) would refuse most of the load measured.
env.ORDER_RATE_LIMIT = String(1_000_000);

const cleanup = async () => {
  for (const step of cleanups.reverse()) await step().catch((error: unknown) => process.stderr.write(`bench: cleanup: ${String(error)}\n`));
};

// ---- load: open loop at --rate, or closed loop with --concurrency ----

const latencies: number[] = [];
let measuring = false;
let completed = 0;
let failed = 0;
let refused = 0;
let endedOtherwise = 0;

/** Orders completed while measuring, with their wall-clock times: the step breakdown reads their timelines. */
const measuredTimes = new Map<string, OrderTimes>();

function settle(started: number, done: number, order?: { id: string; sentMs: number }) {
  if (!measuring) return;
  completed++;
  latencies.push(done - started);
  if (order) measuredTimes.set(order.id, { sentMs: order.sentMs, seenMs: order.sentMs + (done - started) });
}

/**
 * Closed loop (--rate 0): each of --concurrency workers waits until its order (or chain)
 * has finished before it sends the next, so the work in flight stays bounded and the
 * figure is what the system completes, not what it accepts and leaves queued.
 */
const closedLoop = rate === 0;
const FINISH_TIMEOUT_MS = 30_000;
const finishers = new Map<string, () => void>();
const finished = (key: string) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      finishers.delete(key);
      resolve();
    }, FINISH_TIMEOUT_MS);
    finishers.set(key, () => {
      clearTimeout(timer);
      finishers.delete(key);
      resolve();
    });
  });
const finish = (key: string) => finishers.get(key)?.();

async function drive(seconds: number, placeOne: () => Promise<void>): Promise<void> {
  const until = performance.now() + seconds * 1000;
  if (rate > 0) {
    const inFlight = new Set<Promise<void>>();
    const startedAt = performance.now();
    let sent = 0;
    while (performance.now() < until) {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * rate);
      for (; sent < due; sent++) {
        const p = placeOne().finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(1);
    }
    await Promise.all(inFlight);
  } else {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) await placeOne();
      }),
    );
  }
}

/** Warm-up, then the measured load, then a bounded wait for what is still on its way. */
async function measure(placeOne: () => Promise<void>, awaiting: () => number) {
  await drive(warmup, placeOne);
  await sleep(500);
  measuring = true;
  const cpu = watchCpu(cpuWatch);
  const progress = setInterval(() => process.stdout.write(`  ${completed} completed, ${awaiting()} awaiting\n`), 1000);
  const t0 = performance.now();
  await drive(duration, placeOne);
  const loadSeconds = (performance.now() - t0) / 1000;
  // Throughput counts what completed while the load ran: a backlog drained afterwards is not sustained.
  const completedDuringLoad = completed;
  const drainUntil = performance.now() + 10_000;
  while (awaiting() > 0 && performance.now() < drainUntil) await sleep(20);
  const cpuMsPerOrder = cpuPerCompleted(cpu.milliseconds(), completed);
  clearInterval(progress);
  latencies.sort((a, b) => a - b);
  const ms = (p: number) => round(percentileOf(latencies, p));
  return {
    completedPerSecond: Number((completedDuringLoad / loadSeconds).toFixed(1)),
    completedAfterLoad: completed - completedDuringLoad,
    latencyMs: { p50: ms(50), p95: ms(95), p99: ms(99), max: ms(100) },
    notCompletedInTime: awaiting(),
    cpuMsPerOrder,
  };
}

if (historyOrders !== undefined) {
  const { sample: _checked, ...report } = await runHistoryBenchmark({
    processes: processes === 'cluster' ? 'cluster' : 'single',
    env,
    cpu: cpuWatch,
    issuerUrl: issuer!.url,
    orders: historyOrders,
    viaServices: values['history-via-services'],
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${JSON.stringify({ setup: `${broker} broker, ${processes === 'cluster' ? 'one process per service' : 'one process'}, ${database === 'postgres' ? 'PostgreSQL' : 'file SQLite'}`, ...report }, null, 2)}\n`);
  await cleanup();
  process.exit(0);
}

const mode = rate > 0 ? `${rate}/s` : `as fast as possible, ${concurrency} orders in flight (each worker waits for its order to end)`;
const chainDatabase = database === 'postgres' ? 'PostgreSQL' : values.memory ? 'in-memory SQLite' : 'file SQLite';
const setup = baseline
  ? `${broker} broker, ${values.partitions} partitions, ${baseline === 'durable' ? `${database === 'postgres' ? 'PostgreSQL, a schema per hop' : `a ${chainDatabase} database per hop`}, ` : ''}the chain's consumers and producer in this process`
  : `${broker} broker, ${processes === 'cluster' ? 'one process per service' : 'one process'}, ${database === 'postgres' ? 'PostgreSQL' : values.memory ? 'in-memory SQLite' : 'file SQLite'}, ${values.partitions} partitions`;
const report = baseline ? await runBaseline(baseline) : await runSystem();
const cpuLine = (cpu: ReturnType<typeof cpuPerCompleted>) =>
  `CPU per completed ${baseline ? 'chain' : 'order'}: ${cpu.total} ms (this process ${cpu.benchProcess}, processes it started ${cpu.startedProcesses}, broker ${cpu.broker}, PostgreSQL ${cpu.postgres})`;
process.stdout.write(`\n${cpuLine(report.cpuMsPerOrder)}\n${JSON.stringify(baseline ? report : { sagaMode: values.mode, ...report }, null, 2)}\n`);
await cleanup();
process.exit(0);

// ---- the system ----

async function runSystem() {
  const target = await startBenchSystem(processes === 'cluster' ? 'cluster' : 'single', env);
  const { urls } = target;
  const issuerUrl = issuer!.url;
  const operatorToken = await requestDevToken(issuerUrl, { role: 'operator' });
  const customers = await Promise.all(
    Array.from({ length: CUSTOMERS }, async (_, i) => ({ customerId: `bench-${i}`, token: await requestDevToken(issuerUrl, { role: 'customer', subject: `bench-${i}` }) })),
  );
  for (const productId of ['product-1', 'product-2', 'product-3']) {
    await fetch(`${urls.inventory}/inventory/${productId}/restock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorToken}` },
      body: JSON.stringify({ quantity: 1_000_000 }),
    });
  }

  const sentAt = new Map<string, { started: number; sentMs: number }>();
  const completedEarly = new Map<string, number>();
  const socket = new WebSocket(`${urls.status!.replace('http', 'ws')}/ws`, [BEARER_SUBPROTOCOL, operatorToken]);
  await new Promise((resolve) => socket.once('open', resolve));
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as StatusSocketMessage;
    if (message.type !== 'order_update' || !isTerminal(message.order.status)) return;
    if (message.order.status !== 'COMPLETED') {
      // Not expected (no failure injection, ample stock): counted, and its worker moves on.
      endedOtherwise++;
      sentAt.delete(message.order.orderId);
      finish(message.order.orderId);
      return;
    }
    finish(message.order.orderId);
    const sent = sentAt.get(message.order.orderId);
    // Under load the WebSocket can beat the POST's response: settle it when that arrives.
    if (sent === undefined) completedEarly.set(message.order.orderId, performance.now());
    else {
      sentAt.delete(message.order.orderId);
      settle(sent.started, performance.now(), { id: message.order.orderId, sentMs: sent.sentMs });
    }
  });

  let seq = 0;
  const placeOne = async () => {
    const started = performance.now();
    const sentMs = Date.now();
    const customer = customers[seq++ % CUSTOMERS]!;
    const body = JSON.stringify({ customerId: customer.customerId, items: [{ productId: `product-${1 + (seq % 3)}`, quantity: 1 }] });
    try {
      const response = await callSystem('POST', `${urls.order}/orders`, customer.token, body);
      const result = JSON.parse(response.body) as { orderId?: string };
      if (response.status !== 202 || !result.orderId) refused++;
      else if (completedEarly.has(result.orderId)) {
        settle(started, completedEarly.get(result.orderId)!, { id: result.orderId, sentMs });
        completedEarly.delete(result.orderId);
      } else {
        sentAt.set(result.orderId, { started, sentMs });
        if (closedLoop) await finished(result.orderId);
      }
    } catch {
      failed++;
    }
  };

  process.stdout.write(`orderflow bench: ${mode}, ${duration}s measured after ${warmup}s warm-up; ${setup}\n`);
  const figures = await measure(placeOne, () => sentAt.size);
  const msSincePost = await stepBreakdown(urls.status!, operatorToken);
  const result = {
    what: 'orders: POST /orders to COMPLETED on the status WebSocket',
    setup,
    mode,
    completedOrders: completed,
    ...figures,
    msSincePost,
    refused,
    failedRequests: failed,
    endedOtherwise,
    systemPeakRssMiB: Number((await target.peakRssMiB()).toFixed(0)),
    node: process.version,
  };
  socket.close();
  await target.stop();
  return result;
}

/**
 * Where the time goes (see timeSinceSent): the timelines of about 300 of the orders
 * measured, spread over the run, read from the status service after the load.
 */
async function stepBreakdown(statusUrl: string, token: string) {
  const sample = 300; // (here, not a constant beside it: declarations hoist above the script's top-level awaits, constants do not)
  const ids = [...measuredTimes.keys()];
  const every = Math.max(1, Math.floor(ids.length / sample));
  const views: OrderView[] = [];
  for (const id of ids.filter((_, i) => i % every === 0)) {
    const response = await callSystem('GET', `${statusUrl}/status/${id}`, token);
    const view = response.status === 200 ? OrderView.safeParse(JSON.parse(response.body)) : undefined;
    if (view?.success) views.push(view.data);
  }
  return timeSinceSent(views, measuredTimes);
}

// ---- the baselines: a chain of hops, no business logic ----

interface HopTables {
  bench_hop: { record_key: string; received_at: string };
}

/**
 * What a durable hop writes: one row per record it receives, keyed so that a redelivery adds
 * nothing. (A function: declarations hoist above the script's top-level awaits, constants do not.)
 */
function hopMigrations(): Record<string, ServiceMigration> {
  return {
    '001_bench_hop': (db) =>
      db.schema
        .createTable('bench_hop')
        .addColumn('record_key', 'text', (c) => c.primaryKey())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute(),
  };
}

/**
 * `hops` consumer groups in this process, group i reading topic i and publishing what it
 * read to topic i+1, through the same Bus adapter (and so the same delivery guarantees:
 * durable position, acknowledgement after the handler) as the services. A message is
 * published to topic 1 and measured when the last group receives it: as many sequential
 * hops as an order's critical path, each a publish acknowledged by the broker and a
 * delivery, without HTTP or WebSocket. Raw: no database. Durable: each hop first commits
 * one row per record to a database of its own (as each service has), one transaction per
 * batch as the services' consumers do, and publishes after the commit: a crash between
 * the two redelivers the record, whose row is then already there (at least once, like
 * the outbox, without the outbox's second transaction).
 */
async function runBaseline(kind: 'raw' | 'durable') {
  const bus: Bus = createBus(loadConfig({ ...env, DATA_DIR: dataDir === ':memory:' ? ':memory:' : dataDir }));
  cleanups.push(() => bus.close());
  const topics = Array.from({ length: hops }, (_, i) => `bench-hop-${runId}-${i + 1}`);
  await bus.ensureTopics(topics);
  const sentAt = new Map<string, number>();
  const arrived = (record: BusRecord) => {
    const started = sentAt.get(record.key);
    if (started === undefined) return;
    sentAt.delete(record.key);
    settle(started, performance.now());
    finish(record.key);
  };
  for (const [i, topic] of topics.entries()) {
    const next = topics[i + 1];
    const forward = async (records: readonly BusRecord[]) => {
      if (next) await bus.publish(records.map((record) => ({ topic: next, key: record.key, value: record.value, headers: record.headers })));
      else for (const record of records) arrived(record);
    };
    const hopDatabase =
      kind === 'durable' ? await openDatabase<HopTables>({ service: `bench_hop_${i + 1}`, dataDir, url: env.DATABASE_URL || undefined }, hopMigrations()) : undefined;
    if (hopDatabase) cleanups.push(() => hopDatabase.close());
    const commitRows = async (records: readonly BusRecord[]) => {
      if (!hopDatabase) return;
      const receivedAt = new Date().toISOString();
      await hopDatabase.db.transaction().execute((trx) =>
        trx
          .insertInto('bench_hop')
          .values(records.map((record) => ({ record_key: record.key, received_at: receivedAt })))
          .onConflict((c) => c.column('record_key').doNothing())
          .execute(),
      );
    };
    await bus.subscribe({
      group: `bench-hop-${i + 1}`,
      topics: [topic],
      handle: async (record) => {
        await commitRows([record]);
        await forward([record]);
      },
      ...(hopDatabase
        ? {
            handleBatch: async (records: readonly BusRecord[]) => {
              await commitRows(records);
              await forward(records);
              return { handled: records.length };
            },
          }
        : {}),
    });
  }
  // Kafka assigns partitions to a new group after a join; give it the time.
  if (broker === 'kafka') await sleep(8_000);

  let seq = 0;
  const placeOne = async () => {
    const key = `hop-${runId}-${seq++}`;
    sentAt.set(key, performance.now());
    const done = closedLoop ? finished(key) : undefined;
    try {
      await bus.publish([{ topic: topics[0]!, key, value: JSON.stringify({ key, sentAt: Date.now() }), headers: { 'event-type': 'BenchHop' } }]);
      await done;
    } catch {
      sentAt.delete(key);
      failed++;
    }
  };

  process.stdout.write(`orderflow bench --baseline ${kind}: ${hops} sequential hops, ${mode}, ${duration}s measured after ${warmup}s warm-up; ${setup}\n`);
  const figures = await measure(placeOne, () => sentAt.size);
  return {
    what:
      kind === 'raw'
        ? `raw broker: ${hops} sequential hops (publish, deliver, acknowledge), no business logic`
        : `durable chain: ${hops} sequential hops (commit a row, publish, deliver, acknowledge), no business logic`,
    setup,
    mode,
    completedChains: completed,
    ...figures,
    failedPublishes: failed,
    node: process.version,
  };
}
