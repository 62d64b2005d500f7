import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StatusSocketMessage } from '@orderflow/contracts';
import { SERVICE_PORTS } from '@orderflow/platform';
import WebSocket from 'ws';

const HELP = `npm run bench -- [options]

Starts the whole system as npm start does, in a child process (embedded broker, SQLite
files in a temporary folder), places orders over HTTP from this process and measures,
for each order, the time from sending POST /orders to seeing it COMPLETED on the status
WebSocket.

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
const freePorts = Object.fromEntries(Object.values(SERVICE_PORTS).map((s) => [s.variable, '0']));
const child = fork(new URL('./start.ts', import.meta.url).pathname, [], {
  execArgv: ['--max-semi-space-size=32', '--import', 'tsx'],
  env: { ...process.env, ...freePorts, WEB_UI: 'off', DATA_DIR: dataDir, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', SHIPPING_FAILURE_RATE: '0', BUS_PARTITIONS: values.partitions },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const urls = await new Promise<Record<string, string>>((resolve, reject) => {
  child.once('message', (message: { type: string; urls: Record<string, string> }) => resolve(message.urls));
  child.once('exit', (code) => reject(new Error(`the system exited with code ${code} before it was ready`)));
});
const childPeakRssKiB = () =>
  new Promise<number>((resolve) => {
    child.once('message', (message: { maxRssKiB: number }) => resolve(message.maxRssKiB));
    child.send({ type: 'stats' });
  });

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
const progress = setInterval(() => process.stdout.write(`  ${completed} completed, ${sentAt.size} awaiting COMPLETED\n`), 1000);
const t0 = performance.now();
await drive(duration);
const loadSeconds = (performance.now() - t0) / 1000;
// Let the orders already sent finish (bounded wait).
const drainUntil = performance.now() + 10_000;
while (sentAt.size > 0 && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 20));
clearInterval(progress);

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
  systemPeakRssMiB: Number(((await childPeakRssKiB()) / 1024).toFixed(0)),
  node: process.version,
};
process.stdout.write(`\n${JSON.stringify(report, null, 2)}\n`);
socket.close();
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
if (dataDir !== ':memory:') rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
