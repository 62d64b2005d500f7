import { setTimeout as sleep } from 'node:timers/promises';
import { OrderStatus, RebuildProgress, isTerminal } from '@orderflow/contracts';
import { loadConfig, requestDevToken } from '@orderflow/platform';
import { z } from 'zod';
import { type BenchProcesses, type BenchSystem, callSystem, memoryKiB, round, startBenchSystem, waitUntilAllReady } from './bench-system.ts';
import { type HistoryOutcome, outcomeOf } from './history-events.ts';
import { timeQueriesApart } from './history-queries.ts';
import { type SeededHistory, seedHistory } from './history-seed.ts';
import { type CpuWatchOptions, watchCpu } from './process-cpu.ts';

/**
 * `npm run bench -- --history N`: gives the system N orders of history, then measures what
 * grows with it: restart to all ready, memory, the status service's queries and live
 * snapshot, and the status projection's rebuild rate. The history integration test runs
 * the same function at a small N and checks its answers instead of its times.
 */

export interface HistoryBenchOptions {
  processes: BenchProcesses;
  /** The system's environment: broker scope, DATA_DIR, DATABASE_URL, AUTH_ISSUER. */
  env: Record<string, string>;
  issuerUrl: string;
  /** Whose CPU time the rebuild's figure counts. */
  cpu: CpuWatchOptions;
  orders: number;
  /** Place the orders through the API (slow, real) instead of writing their events into the log. */
  viaServices: boolean;
  /** Requests per query measured (default 200), WebSocket connections (default 50). */
  requests?: number;
  sockets?: number;
  log?: (line: string) => void;
}

/** How long a start may take before it counts as failed: a million orders' catch-up on main takes minutes. */
const START_TIMEOUT_MS = 30 * 60_000;
const PAGE = 50;

// What the benchmark reads from the answers it gets.
const Placed = z.object({ orderId: z.string() });
const StatusOfOrder = z.object({ status: OrderStatus });
const Stats = z.object({ countsByStatus: z.record(z.string(), z.number()) });
const RebuildStarted = z.object({ generation: z.number() });
const parsed = <T>(schema: z.ZodType<T>, response: { status: number; body: string }): T | undefined =>
  response.status === 200 || response.status === 202 ? schema.safeParse(JSON.parse(response.body)).data : undefined;

export async function runHistoryBenchmark(options: HistoryBenchOptions) {
  const log = options.log ?? (() => undefined);
  const operatorToken = await requestDevToken(options.issuerUrl, { role: 'operator' });
  const history = options.viaServices ? await placeThroughServices(options, operatorToken, log) : await seed(options, log);

  log('first start with the history (the status service catches up on it)');
  let startedAt = performance.now();
  let system = await startBenchSystem(options.processes, options.env, START_TIMEOUT_MS);
  let firstStartSeconds: number;
  let projectedAtFirstStart: number;
  try {
    await waitUntilAllReady(system.urls, START_TIMEOUT_MS);
    firstStartSeconds = (performance.now() - startedAt) / 1000;
    projectedAtFirstStart = await statusEventsProjected(system.urls.status!, operatorToken);
  } finally {
    await system.stop();
  }

  log('restart');
  startedAt = performance.now();
  system = await startBenchSystem(options.processes, options.env, START_TIMEOUT_MS);
  try {
    await waitUntilAllReady(system.urls, START_TIMEOUT_MS);
    const restartToReadySeconds = (performance.now() - startedAt) / 1000;
    const rssMiB = Object.fromEntries(Object.entries(system.pids()).map(([name, pid]) => [name, Number((memoryKiB(pid, 'VmRSS') / 1024).toFixed(0))]));

    log('queries');
    const status = system.urls.status!;
    const queries = await timeQueriesApart({
      status,
      token: operatorToken,
      ids: history.sample.map((o) => o.orderId),
      requests: options.requests ?? 200,
      sockets: options.sockets ?? 50,
      pageSize: PAGE,
    });

    log('checks and rebuild');
    const checks = await checkHistory(system, operatorToken, history);
    const rebuild = await measureRebuild(status, operatorToken, { firstStartSeconds, projectedAtFirstStart }, options.cpu);
    return {
      what: `history: ${history.orders} orders ${options.viaServices ? 'placed through the API' : 'written into the log'}, then restart and queries`,
      history: { orders: history.orders, events: history.events, byOutcome: history.byOutcome, seconds: round(history.seconds) },
      firstStartToReadySeconds: round(firstStartSeconds),
      restartToReadySeconds: round(restartToReadySeconds),
      rssMiBAfterRestart: rssMiB,
      latencyMs: queries,
      rebuild,
      checks,
      node: process.version,
      /** The orders the checks looked at, and how each ended (not printed). */
      sample: history.sample,
    };
  } finally {
    await system.stop();
  }
}

async function seed(options: HistoryBenchOptions, log: (line: string) => void): Promise<SeededHistory> {
  log(`writing ${options.orders} orders of history into the log`);
  let reported = 0;
  return seedHistory(loadConfig(options.env), options.orders, (written) => {
    if (written - reported >= 50_000 || written === options.orders) log(`  ${(reported = written)} orders written`);
  });
}

/**
 * The same mix of outcomes as the seeded history, placed through POST /orders and waited
 * for: the reference the seeded log is compared with. A declined card comes from the
 * customer id's test trigger and missing stock from ordering 20 of prod001 (10 in stock).
 */
async function placeThroughServices(options: HistoryBenchOptions, operatorToken: string, log: (line: string) => void): Promise<SeededHistory> {
  const startedAt = performance.now();
  const system = await startBenchSystem(options.processes, options.env, START_TIMEOUT_MS);
  try {
    log(`placing ${options.orders} orders through the API`);
    for (const productId of ['product-1', 'product-2', 'product-3']) {
      await postJson(`${system.urls.inventory}/inventory/${productId}/restock`, { quantity: 1_000_000 }, operatorToken);
    }
    const tokens = new Map<string, string>();
    const byOutcome: Record<HistoryOutcome, number> = { COMPLETED: 0, PAYMENT_FAILED: 0, CANCELLED_NO_STOCK: 0 };
    const sample: SeededHistory['sample'] = [];
    for (let index = 0; index < options.orders; index++) {
      const outcome = outcomeOf(index);
      const customerId = outcome === 'PAYMENT_FAILED' ? `history-decline-payment-${index % 50}` : `history-${index % 1000}`;
      if (!tokens.has(customerId)) tokens.set(customerId, await requestDevToken(options.issuerUrl, { role: 'customer', subject: customerId }));
      const items = outcome === 'CANCELLED_NO_STOCK' ? [{ productId: 'prod001', quantity: 20 }] : [{ productId: `product-${1 + (index % 3)}`, quantity: 1 + (index % 3) }];
      const response = await postJson(`${system.urls.order}/orders`, { customerId, items }, tokens.get(customerId)!);
      const orderId = parsed(Placed, response)?.orderId;
      if (response.status !== 202 || orderId === undefined) throw new Error(`POST /orders answered ${response.status}: ${response.body}`);
      byOutcome[outcome]++;
      sample.push({ orderId, outcome });
    }
    // Ended: every order has reached a terminal status in the status service.
    const deadline = performance.now() + 120_000;
    for (const { orderId } of sample) {
      for (;;) {
        const view = parsed(StatusOfOrder, await getJson(`${system.urls.status}/status/${orderId}`, operatorToken));
        if (view && isTerminal(view.status)) break;
        if (performance.now() > deadline) throw new Error(`order ${orderId} did not end in time`);
        await sleep(50);
      }
    }
    const events = await statusEventsProjected(system.urls.status!, operatorToken);
    return { orders: options.orders, events, byOutcome, sample, seconds: (performance.now() - startedAt) / 1000 };
  } finally {
    await system.stop();
  }
}

/** Every known order's status as GET /status/:id gives it, against how it ended, and /stats' counts against the history's. */
async function checkHistory(system: BenchSystem, operatorToken: string, history: SeededHistory) {
  let mismatched = 0;
  const examples: string[] = [];
  for (const { orderId, outcome } of history.sample) {
    const response = await getJson(`${system.urls.status}/status/${orderId}`, operatorToken);
    const seen = parsed(StatusOfOrder, response)?.status ?? `HTTP ${response.status}`;
    if (seen !== outcome) {
      mismatched++;
      if (examples.length < 5) examples.push(`${orderId}: ${String(seen)}, expected ${outcome}`);
    }
  }
  const counts = parsed(Stats, await getJson(`${system.urls.status}/stats`, operatorToken))?.countsByStatus ?? {};
  const countsMatch = (Object.keys(history.byOutcome) as HistoryOutcome[]).every((outcome) => counts[outcome] === history.byOutcome[outcome]);
  return { ordersChecked: history.sample.length, mismatched, examples, countsByStatus: counts, countsMatch };
}

/**
 * POST /projection/rebuild where the status service has it (a persisted read model), and
 * its progress until done; else (a service that rebuilds at every start) the first start's
 * catch-up: the events the status service projected over the time to all ready.
 */
async function measureRebuild(status: string, operatorToken: string, firstStart: { firstStartSeconds: number; projectedAtFirstStart: number }, cpuWatch: CpuWatchOptions) {
  const cpu = watchCpu(cpuWatch);
  const started = await postJson(`${status}/projection/rebuild`, {}, operatorToken);
  if (started.status === 404) {
    return {
      measured: 'first start catch-up (no POST /projection/rebuild): events projected / seconds from start to all ready',
      events: firstStart.projectedAtFirstStart,
      seconds: round(firstStart.firstStartSeconds),
      eventsPerSecond: Math.round(firstStart.projectedAtFirstStart / firstStart.firstStartSeconds),
    };
  }
  const generation = parsed(RebuildStarted, started)?.generation;
  if (started.status !== 202 || generation === undefined) throw new Error(`POST /projection/rebuild answered ${started.status}: ${started.body}`);
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    const answer = await getJson(`${status}/projection/rebuild`, operatorToken);
    const progress = parsed(RebuildProgress, answer);
    if (!progress) throw new Error(`GET /projection/rebuild answered ${answer.status}: ${answer.body.slice(0, 200)}`);
    // The answer may still be about an earlier generation for a moment.
    if (progress.generation === generation && (progress.state === 'done' || progress.state === 'failed')) {
      const seconds = progress.startedAt && progress.finishedAt ? (Date.parse(progress.finishedAt) - Date.parse(progress.startedAt)) / 1000 : Number.NaN;
      const events = progress.eventsProjected;
      const used = cpu.milliseconds();
      return {
        measured: 'POST /projection/rebuild, until GET /projection/rebuild says done',
        state: progress.state,
        events,
        seconds: round(seconds),
        eventsPerSecond: Math.round(progress.eventsPerSecond ?? events / seconds),
        // CPU time compares across machines and runs where a shared machine's seconds do not.
        cpuMsPer1000Events: round(((used.startedProcesses + used.broker + used.postgres) * 1000) / events),
      };
    }
    if (performance.now() > deadline) throw new Error('the rebuild did not finish in time');
    await sleep(100);
  }
}

/** The status service's count of events it projected (orderflow_events_processed_total of its group). */
async function statusEventsProjected(status: string, operatorToken: string): Promise<number> {
  const text = (await getJson(`${status}/metrics`, operatorToken)).body;
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('orderflow_events_processed_total{') && line.includes('group="status"')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

const getJson = (url: string, token: string) => callSystem('GET', url, token);
const postJson = (url: string, body: unknown, token: string) => callSystem('POST', url, token, JSON.stringify(body));
