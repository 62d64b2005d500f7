import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_TOPICS, type OrderflowEvent, deadLetterTopic, parseEvent } from '@orderflow/contracts';
import { type DevIssuer, createEmbeddedBus, startDevIssuer } from '@orderflow/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHistoryBenchmark } from './history-bench.ts';
import type { HistoryOutcome } from './history-events.ts';

/**
 * The history benchmark at a small N on the embedded broker: its answers, not its times.
 * The seeded log must be what the services would have written, and only the status
 * service may read it; the same mix placed through the API is the reference.
 */

let issuer: DevIssuer;
const dataDirs: string[] = [];
beforeAll(async () => {
  issuer = await startDevIssuer({ dataDir: ':memory:', host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await issuer.stop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function systemEnv(): Record<string, string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'orderflow-history-'));
  dataDirs.push(dataDir);
  return {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    SHIPPING_FAILURE_RATE: '0',
    BUS: 'embedded',
    DATABASE_URL: '',
    SAGA_MODE: 'choreography',
    AUTH_ISSUER: issuer.url,
    ORDER_RATE_LIMIT: '1000000',
  };
}

/** Every event on the event topics and every dead letter, read from the embedded broker's file once the system has stopped. */
async function readLog(dataDir: string) {
  const bus = createEmbeddedBus({ file: join(dataDir, 'broker.db') });
  try {
    const events: OrderflowEvent[] = [];
    let deadLetters = 0;
    for (const topic of EVENT_TOPICS) {
      for (const record of await bus.readAll(topic)) events.push(parseEvent(record.value));
      deadLetters += (await bus.readAll(deadLetterTopic(topic))).length;
    }
    return { events, deadLetters };
  } finally {
    await bus.close();
  }
}

/** Per outcome, each event as `source:type <- type of its cause`, the same for every order of that outcome. */
function shapesByOutcome(events: readonly OrderflowEvent[], outcomes: ReadonlyMap<string, HistoryOutcome>) {
  const byId = new Map(events.map((e) => [e.id, e]));
  const perOrder = new Map<string, string[]>();
  for (const event of events) {
    if (!event.orderId || !outcomes.has(event.orderId)) continue;
    const cause = event.causationId ? (byId.get(event.causationId)?.type ?? 'unknown') : 'request';
    perOrder.set(event.orderId, [...(perOrder.get(event.orderId) ?? []), `${event.source}:${event.type} <- ${cause}`]);
  }
  const shapes = new Map<HistoryOutcome, Set<string>>();
  for (const [orderId, lines] of perOrder) {
    const outcome = outcomes.get(orderId)!;
    shapes.set(outcome, (shapes.get(outcome) ?? new Set()).add(lines.sort().join('\n')));
  }
  return shapes;
}

describe('npm run bench -- --history', () => {
  it('seeds a history that the status service alone projects: every order visible with its final status, counts right, numbers finite', async () => {
    const env = systemEnv();
    const report = await runHistoryBenchmark({ processes: 'single', env, issuerUrl: issuer.url, cpu: { broker: 'embedded' }, orders: 300, viaServices: false, requests: 20, sockets: 5 });

    expect(report.checks.mismatched).toBe(0);
    expect(report.checks.ordersChecked).toBe(300);
    expect(report.checks.countsMatch).toBe(true);
    expect(report.history.byOutcome).toEqual({ COMPLETED: 270, PAYMENT_FAILED: 15, CANCELLED_NO_STOCK: 15 });
    const figures = [
      report.firstStartToReadySeconds,
      report.restartToReadySeconds,
      report.rebuild.eventsPerSecond,
      ...Object.values(report.rssMiBAfterRestart),
      ...Object.values(report.latencyMs).flatMap((q) => [q.p50, q.p99]),
    ];
    for (const figure of figures) expect(Number.isFinite(figure)).toBe(true);
    expect(report.rebuild.events).toBeGreaterThanOrEqual(report.history.events);

    // The other services were placed after the history: none of them handled it again.
    const log = await readLog(env.DATA_DIR!);
    expect(log.deadLetters).toBe(0);
    // Every order event in the log is one the history wrote (all but its 3 restocks are about an order).
    expect(log.events.filter((e) => e.orderId !== null)).toHaveLength(report.history.events - 3);
  }, 180_000);

  it('seeds, per outcome, the events the services emit when the same orders are placed through the API', async () => {
    const viaApi = systemEnv();
    const seeded = systemEnv();
    const placed = await runHistoryBenchmark({ processes: 'single', env: viaApi, issuerUrl: issuer.url, cpu: { broker: 'embedded' }, orders: 40, viaServices: true, requests: 5, sockets: 2 });
    const written = await runHistoryBenchmark({ processes: 'single', env: seeded, issuerUrl: issuer.url, cpu: { broker: 'embedded' }, orders: 40, viaServices: false, requests: 5, sockets: 2 });
    expect(placed.checks.mismatched).toBe(0);
    expect(written.checks.mismatched).toBe(0);

    const outcomesOf = (report: typeof placed) => new Map(report.sample.map((o) => [o.orderId, o.outcome] as const));
    const real = shapesByOutcome((await readLog(viaApi.DATA_DIR!)).events, outcomesOf(placed));
    const made = shapesByOutcome((await readLog(seeded.DATA_DIR!)).events, outcomesOf(written));
    for (const outcome of ['COMPLETED', 'PAYMENT_FAILED', 'CANCELLED_NO_STOCK'] as const) {
      expect(real.get(outcome)?.size, `${outcome}: one shape through the API`).toBe(1);
      expect(made.get(outcome), outcome).toEqual(real.get(outcome));
    }
  }, 300_000);
});
