import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderflowEvent } from '@orderflow/contracts';
import {
  type DevIssuer,
  type ServiceRuntime,
  createEmbeddedBus,
  createHttpServer,
  createServiceMetrics,
  loadConfig,
  requestDevToken,
  startDevIssuer,
  startServiceRuntime,
  toBusMessage,
} from '@orderflow/platform';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventOf } from '../domain/events.fixture.ts';
import { openReadModel } from '../main.ts';
import { type StatusTables, statusMigrations } from '../store/schema.ts';
import { createConnectionLimiter } from './live-updates.ts';
import { registerSseRoutes } from './sse-routes.ts';
import { registerWebSocketRoutes } from './websocket-routes.ts';

/** A read model on an in-memory log and database; publish() appends events to the log. */
async function startReadModel() {
  const config = loadConfig({ DATA_DIR: ':memory:', LOG_LEVEL: 'silent' });
  const bus = createEmbeddedBus({ file: ':memory:' });
  const runtime: ServiceRuntime<StatusTables> = await startServiceRuntime({ service: 'status', migrations: statusMigrations, config, bus, logger: pino({ level: 'silent' }) });
  const readModel = await openReadModel(runtime);
  return {
    ...readModel,
    publish: (events: readonly OrderflowEvent[]) => bus.publish(events.map((e) => toBusMessage(e, undefined))),
    stop: async () => {
      await runtime.stop();
      await bus.close();
    },
  };
}

let readModel: Awaited<ReturnType<typeof startReadModel>>;
let app: Awaited<ReturnType<typeof createHttpServer>>;
let base = '';
/** What the service logs at warn and above, one parsed JSON line each. */
const logged: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  readModel = await startReadModel();
  app = await createHttpServer({
    service: 'status',
    description: 'live updates under test',
    logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) }),
    metrics: createServiceMetrics('status'),
    readiness: async () => ({}),
    websocket: { maxMessageBytes: 1024 },
    // Development mode: one order's streams are open without a token (the all-orders ones are an operator's).
    auth: loadConfig({}).auth,
  });
  const live = { ...readModel, connections: createConnectionLimiter({ total: 100, perIp: 100 }), maxBufferedBytes: 1024 * 1024 };
  registerWebSocketRoutes(app, { ...live, pingIntervalMs: 30 });
  registerSseRoutes(app, { ...live, heartbeatMs: 30 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app.close();
  await readModel.stop();
});

describe('live updates', () => {
  it('the WebSocket server sends ping as keepalive', async () => {
    const socket = new WebSocket(`ws://${base}/ws/order-1`);
    const first = await new Promise<unknown>((resolve, reject) => {
      socket.once('message', (raw) => resolve(JSON.parse(String(raw))));
      socket.once('error', reject);
    });
    expect(first).toEqual({ type: 'ping' });
    socket.close();
  });

  it('an invalid frame (a message above the limit) closes the connection and is logged once, at warn, without a stack', async () => {
    const socket = new WebSocket(`ws://${base}/ws/order-1`);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const before = logged.length;
    socket.send('x'.repeat(2_048));
    socket.send('x'.repeat(2_048));
    await closed;
    await sleep(50);
    const lines = logged.slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: expect.stringContaining('invalid frame') });
    expect(JSON.stringify(lines[0])).not.toContain('stack');
  });

  it('SSE sends a comment heartbeat', async () => {
    const abort = new AbortController();
    const response = await fetch(`http://${base}/events/order-1`, { signal: abort.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes(': heartbeat\n\n')) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error('stream ended');
      text += chunk.value;
    }
    abort.abort();
  });

  it('closing the server ends open WebSocket and SSE connections instead of waiting for them', async () => {
    await readModel.publish([eventOf('OrderCreated')]);
    const socket = new WebSocket(`ws://${base}/ws/order-1`);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('message', resolve));
    const response = await fetch(`http://${base}/events/order-1`);
    const reader = response.body!.getReader();
    await reader.read();
    const ended = (async () => {
      while (!(await reader.read()).done);
      return 'ended';
    })();
    await app.close();
    expect(await ended).toBe('ended');
    await closed;
  });
});

describe('a live-update client that does not read', () => {
  let bigModel: Awaited<ReturnType<typeof startReadModel>>;
  let slowApp: Awaited<ReturnType<typeof createHttpServer>>;
  let slowBase = '';
  // Every order's stream is an operator's: a token from a development issuer.
  let issuer: DevIssuer;
  let operatorToken = '';
  beforeAll(async () => {
    bigModel = await startReadModel();
    issuer = await startDevIssuer({ dataDir: ':memory:', host: '127.0.0.1', port: 0 });
    operatorToken = await requestDevToken(issuer.url, { role: 'operator' });
    slowApp = await createHttpServer({
      service: 'status',
      description: 'slow readers under test',
      logger: pino({ level: 'silent' }),
      metrics: createServiceMetrics('status'),
      readiness: async () => ({}),
      websocket: { maxMessageBytes: 1024 },
      auth: loadConfig({ AUTH_ISSUER: issuer.url }).auth,
    });
    const live = { ...bigModel, connections: createConnectionLimiter({ total: 10, perIp: 10 }), maxBufferedBytes: 1024 * 1024 };
    registerWebSocketRoutes(slowApp, live);
    await slowApp.listen({ host: '127.0.0.1', port: 0 });
    const address = slowApp.server.address();
    slowBase = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await slowApp?.close();
    await issuer?.stop();
    await bigModel?.stop();
  });

  it('is disconnected once more than maxBufferedBytes wait for it, instead of being buffered for', async () => {
    const socket = new WebSocket(`ws://${slowBase}/ws`, ['bearer', operatorToken]);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.pause();
    // 3,000 orders of 100 lines, about 20 MB of updates: far more than the socket buffers hold.
    const items = Array.from({ length: 100 }, (_, i) => ({ productId: `product-${i}`, quantity: 1, unitPrice: 100 }));
    for (let i = 0; i < 3_000; i += 100) {
      await bigModel.publish(Array.from({ length: 100 }, (_, j) => eventOf('OrderCreated', { orderId: `big-${i + j}`, data: { items, total: 10_000 } })));
    }
    socket.resume();
    expect(await closed).toBe(1006);
  });
});
