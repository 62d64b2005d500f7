import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StatusSocketMessage } from '@orderflow/contracts';
import { createRootLogger, loadConfig } from '@orderflow/platform';
import WebSocket from 'ws';
import { startSystem } from './system.ts';

const HELP = `npm run bench -- [options]

Starts the whole system in this process (embedded broker, SQLite files in a temporary
folder), places orders over HTTP and measures, for each order, the time from sending
POST /orders to seeing it COMPLETED on the status WebSocket.

  --rate N        orders per second (open loop); 0 = as fast as possible (default 0)
  --duration S    seconds of load (default 10)
  --concurrency C requests in flight when --rate is 0 (default 64)
  --warmup S      seconds of unmeasured load first (default 2)
  --partitions P  partitions per topic (default 3)
  --memory        keep databases in memory instead of files
`;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '0' },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '2' },
    partitions: { type: 'string', default: '3' },
    memory: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const rate = Number(values.rate);
const duration = Number(values.duration);
const concurrency = Number(values.concurrency);
const warmup = Number(values.warmup);

const dataDir = values.memory ? ':memory:' : mkdtempSync(join(tmpdir(), 'orderflow-bench-'));
const config = loadConfig({ ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', SHIPPING_FAILURE_RATE: '0', BUS_PARTITIONS: values.partitions });
const system = await startSystem(config, createRootLogger(config), { freePorts: true });
const { urls } = system;

for (const productId of ['product-1', 'product-2', 'product-3']) {
  await fetch(`${urls.inventory}/inventory/${productId}/restock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ quantity: 1_000_000 }),
  });
}

const sentAt = new Map<string, number>();
const latencies: number[] = [];
const completedEarly = new Map<string, number>();
let measuring = false;
let completed = 0;
let failed = 0;
let refused = 0;

const socket = new WebSocket(`${urls.status!.replace('http', 'ws')}/ws`);
await new Promise((resolve) => socket.once('open', resolve));
socket.on('message', (data) => {
  const message = JSON.parse(String(data)) as StatusSocketMessage;
  if (message.type !== 'order_update' || message.order.status !== 'COMPLETED') return;
  const started = sentAt.get(message.order.orderId);
  // Under load the WebSocket can beat the POST's response: settle it when that arrives.
  if (started === undefined) completedEarly.set(message.order.orderId, performance.now());
  else settle(message.order.orderId, started, performance.now());
});

function settle(orderId: string, started: number, done: number) {
  sentAt.delete(orderId);
  completedEarly.delete(orderId);
  if (!measuring) return;
  completed++;
  latencies.push(done - started);
}

let seq = 0;
async function placeOne(): Promise<void> {
  const started = performance.now();
  const body = JSON.stringify({ customerId: `bench-${seq++}`, items: [{ productId: `product-${1 + (seq % 3)}`, quantity: 1 }] });
  try {
    const response = await fetch(`${urls.order}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const result = (await response.json()) as { orderId?: string };
    if (response.status !== 202 || !result.orderId) refused++;
    else if (completedEarly.has(result.orderId)) settle(result.orderId, started, completedEarly.get(result.orderId)!);
    else sentAt.set(result.orderId, started);
  } catch {
    failed++;
  }
}

let peakRss = 0;
const memoryTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);

async function drive(seconds: number): Promise<void> {
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
      await new Promise((resolve) => setTimeout(resolve, 1));
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

const mode = rate > 0 ? `${rate} orders/s` : `as fast as possible (${concurrency} in flight)`;
process.stdout.write(`orderflow bench: ${mode}, ${duration}s measured after ${warmup}s warm-up, ${values.memory ? 'in-memory' : 'file'} SQLite, ${values.partitions} partitions\n`);
await drive(warmup);
await new Promise((resolve) => setTimeout(resolve, 500));
measuring = true;
const progress = setInterval(() => process.stdout.write(`  ${completed} completed, ${sentAt.size} in flight, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`), 1000);
const t0 = performance.now();
await drive(duration);
const loadSeconds = (performance.now() - t0) / 1000;
// Let the orders already sent finish (bounded wait).
const drainUntil = performance.now() + 10_000;
while (sentAt.size > 0 && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 20));
clearInterval(progress);
clearInterval(memoryTimer);

latencies.sort((a, b) => a - b);
const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! : Number.NaN);
const report = {
  mode,
  completedOrders: completed,
  completedPerSecond: Number((completed / loadSeconds).toFixed(1)),
  latencyMs: { p50: Number(pct(50).toFixed(2)), p95: Number(pct(95).toFixed(2)), p99: Number(pct(99).toFixed(2)), max: Number(pct(100).toFixed(2)) },
  notCompletedInTime: sentAt.size,
  refused,
  failedRequests: failed,
  peakRssMiB: Number((peakRss / 2 ** 20).toFixed(0)),
  node: process.version,
};
process.stdout.write(`\n${JSON.stringify(report, null, 2)}\n`);
socket.close();
await system.stop();
if (dataDir !== ':memory:') rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
