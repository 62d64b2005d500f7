import { setTimeout as sleep } from 'node:timers/promises';
import { type EventDataOf, type EventType, OrderView, type OrderflowEvent, type StatusSocketMessage } from '@orderflow/contracts';
import {
  type Bus,
  type DevIssuer,
  type RunningService,
  createEmbeddedBus,
  createEventFactory,
  createRootLogger,
  loadConfig,
  requestDevToken,
  startDevIssuer,
  toBusMessage,
} from '@orderflow/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { OrderPage } from './http/routes.ts';
import { startStatusService } from './main.ts';

const SOURCE: Record<EventType, string> = {
  OrderCreated: 'order',
  OrderCancelled: 'order',
  OrderCompleted: 'order',
  InventoryConfirmed: 'inventory',
  InventoryRejected: 'inventory',
  InventoryReleased: 'inventory',
  InventoryRestocked: 'inventory',
  PaymentCompleted: 'payment',
  PaymentFailed: 'payment',
  PaymentRefunded: 'payment',
  Shipped: 'shipping',
  ShipmentFailed: 'shipping',
  NotificationSent: 'notification',
};
const line = { productId: 'product-1', quantity: 2, unitPrice: 2999 };
const created: EventDataOf<'OrderCreated'> = { customerId: 'customer-1', items: [line], total: 5998, currency: 'USD' };

let bus: Bus;
let service: RunningService;
let issuer: DevIssuer;
/** The listing, statistics and dead-letter routes are an operator's: this suite reads as one. */
let operatorToken = '';

function event<T extends EventType>(type: T, orderId: string | null, data: EventDataOf<T>): OrderflowEvent {
  return createEventFactory(SOURCE[type]).create(type, orderId, data);
}
const publish = (...events: OrderflowEvent[]) => bus.publish(events.map((e) => toBusMessage(e, undefined)));

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
const getJson = async (path: string) => {
  const response = await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${operatorToken}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const orderView = async (orderId: string) => {
  const { status, body } = await getJson(`/status/${orderId}`);
  return status === 200 ? (body as unknown as OrderView) : undefined;
};
const statusIs = (orderId: string, wanted: string) => eventually(async () => ((await orderView(orderId))?.status === wanted ? true : undefined), `${orderId} ${wanted}`);

/** A WebSocket client that keeps every message and waits for the one it needs. */
async function connect(path: string) {
  const socket = new WebSocket(`${service.url.replace('http', 'ws')}${path}`, ['bearer', operatorToken]);
  const messages: StatusSocketMessage[] = [];
  socket.on('message', (raw) => messages.push(JSON.parse(String(raw)) as StatusSocketMessage));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const next = (match: (m: StatusSocketMessage) => boolean, what: string) =>
    eventually(async () => messages.find(match), what);
  return { socket, messages, next };
}
const updateOf = (orderId: string, status: string) => (m: StatusSocketMessage) =>
  m.type === 'order_update' && m.order.orderId === orderId && m.order.status === status;

beforeAll(async () => {
  bus = createEmbeddedBus({ file: ':memory:' });
  // Already in the log before the service starts: the replay must pick it up.
  await publish(
    event('InventoryRestocked', null, { productId: 'product-1', name: 'Premium Widget', unitPrice: 2999, currency: 'USD', quantity: 100, available: 100 }),
    event('OrderCreated', 'order-done', created),
    event('InventoryConfirmed', 'order-done', { ...created, levels: [{ productId: 'product-1', available: 98 }] }),
    event('PaymentCompleted', 'order-done', { paymentId: 'pay-1', customerId: 'customer-1', amount: 5998, currency: 'USD' }),
    event('Shipped', 'order-done', { shipmentId: 'ship-1', trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' }),
    event('NotificationSent', 'order-done', { notificationId: 'n-1', customerId: 'customer-1', channel: 'email', template: 'ORDER_CONFIRMED' }),
    event('OrderCompleted', 'order-done', { trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' }),
  );
  issuer = await startDevIssuer({ dataDir: ':memory:', host: '127.0.0.1', port: 0 });
  operatorToken = await requestDevToken(issuer.url, { role: 'operator' });
  const config = loadConfig({ DATA_DIR: ':memory:', LOG_LEVEL: 'silent', LOG_FORMAT: 'json', HANDLER_RETRY_BACKOFF_MS: '1', AUTH_ISSUER: issuer.url });
  service = await startStatusService({ config, bus, logger: createRootLogger(config), port: 0 });
  await eventually(async () => ((await getJson('/ready')).status === 200 ? true : undefined), 'readiness');
});

afterAll(async () => {
  await service?.stop();
  await bus?.close();
  await issuer?.stop();
});

describe('status service', () => {
  it('is ready once the replay of the log is done', async () => {
    expect(await getJson('/ready')).toEqual({ status: 200, body: { ready: true, checks: { database: true, broker: true, caughtUp: true } } });
  });

  it('rebuilds an order from the log: GET /status/:orderId', async () => {
    const view = await orderView('order-done');
    expect(view).toMatchObject({ status: 'COMPLETED', customerId: 'customer-1', total: 5998, trackingNumber: 'TRK1A2B3C4D', carrier: 'DHL' });
    expect(Object.values(view?.steps ?? {}).map((s) => s.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(view?.timeline).toHaveLength(6);
  });

  it('answers GET /status/:orderId and GET /status with exactly what their schemas describe (the stored views are sent as they are)', async () => {
    const one = await fetch(`${service.url}/status/order-done`, { headers: { authorization: `Bearer ${operatorToken}` } });
    expect(one.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const view: unknown = await one.json();
    expect(view).toEqual(OrderView.parse(view));
    expect(z.strictObject(OrderView.shape).safeParse(view).error).toBeUndefined();
    const page = await getJson('/status?limit=50');
    expect(page.body).toEqual(OrderPage.parse(page.body));
    expect(OrderPage.parse(page.body).items.map((item) => item.orderId)).toContain('order-done');
  });

  it('answers 404 naming the order it does not know', async () => {
    const { status, body } = await getJson('/status/no-such-order');
    expect(status).toBe(404);
    expect(body).toMatchObject({ error: 'NOT_FOUND', message: expect.stringContaining('no-such-order') });
  });

  it('lists orders with a status filter, and rejects a bad one', async () => {
    expect((await getJson('/status?status=COMPLETED&limit=50')).body).toMatchObject({ limit: 50, nextCursor: null, items: [{ orderId: 'order-done' }] });
    expect((await getJson('/status?status=PAID')).body).toEqual({ limit: 50, nextCursor: null, items: [] });
    expect((await getJson('/status?customerId=customer-1')).body).toMatchObject({ items: [{ orderId: 'order-done' }] });
    expect((await getJson('/status?customerId=customer-2')).body).toMatchObject({ items: [] });
    expect((await getJson('/status?status=NOPE')).status).toBe(400);
  });

  it('serves stats and inventory levels', async () => {
    const stats = (await getJson('/stats')).body;
    expect(stats).toMatchObject({ totalOrders: 1, revenue: [{ currency: 'USD', amount: 5998 }] });
    expect(stats.countsByStatus).toMatchObject({ COMPLETED: 1, PENDING: 0 });
    expect(stats.ordersPerMinute).toHaveLength(30);
    expect((await getJson('/inventory')).body).toEqual({
      items: [{ productId: 'product-1', name: 'Premium Widget', unitPrice: 2999, currency: 'USD', available: 98 }],
    });
  });

  it('WebSocket /ws/:orderId: current view on connect, then every change; ping -> pong; bad message -> error', async () => {
    await publish(event('OrderCreated', 'order-live', created));
    await statusIs('order-live', 'PENDING');
    const client = await connect('/ws/order-live');
    await client.next(updateOf('order-live', 'PENDING'), 'snapshot');

    await publish(event('InventoryConfirmed', 'order-live', { ...created, levels: [{ productId: 'product-1', available: 96 }] }));
    await client.next(updateOf('order-live', 'INVENTORY_CONFIRMED'), 'live update');

    client.socket.send(JSON.stringify({ type: 'ping' }));
    await client.next((m) => m.type === 'pong', 'pong');
    client.socket.send('not json');
    await client.next((m) => m.type === 'error', 'error');
    expect(client.messages.every((m) => m.type !== 'order_update' || m.order.orderId === 'order-live')).toBe(true);
    client.socket.close();
  });

  it('WebSocket /ws: a snapshot of recent orders, then changes of any order', async () => {
    const client = await connect('/ws');
    await client.next(updateOf('order-done', 'COMPLETED'), 'snapshot');
    await publish(event('PaymentFailed', 'order-other', { reason: 'card declined', amount: 100, currency: 'USD' }));
    const update = await client.next((m) => m.type === 'order_update' && m.order.orderId === 'order-other', 'other order');
    expect(update).toMatchObject({ order: { steps: { payment: { state: 'failed' } }, customerId: null } });
    client.socket.close();
  });

  it('SSE /events/:orderId: the current view, then each change, as order_update events', async () => {
    const abort = new AbortController();
    const response = await fetch(`${service.url}/events/order-live`, { signal: abort.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error('stream ended');
        text += chunk.value;
      }
    };
    await readUntil(/event: order_update\ndata: .*"status":"INVENTORY_CONFIRMED".*\n\n/);
    await publish(event('PaymentCompleted', 'order-live', { paymentId: 'pay-2', customerId: 'customer-1', amount: 5998, currency: 'USD' }));
    await readUntil(/"status":"PAID"/);
    const frames = text.split('\n\n').filter((f) => f.startsWith('event: order_update'));
    const last = JSON.parse(frames.at(-1)!.split('\ndata: ')[1]!) as OrderView;
    expect(last).toMatchObject({ orderId: 'order-live', status: 'PAID' });
    abort.abort();
  });

  it('sends an unparseable record to the dead-letter topic and carries on', async () => {
    await bus.publish([{ topic: 'orders', key: 'poison', value: '{"not":"an event"}', headers: {} }]);
    await publish(event('OrderCreated', 'order-after-poison', created));
    await statusIs('order-after-poison', 'PENDING');
    const dead = await bus.readAll('orders.DLT');
    expect(dead.map((r) => r.key)).toContain('poison');
    const listed = (await getJson('/admin/dead-letters')).body.items as { key: string; consumerGroup: string }[];
    expect(listed).toEqual([expect.objectContaining({ key: 'poison', consumerGroup: 'status' })]);
  });

  it('keeps the orders-by-status gauge', async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/orderflow_orders_by_status\{status="COMPLETED",service="status"\} 1/);
  });
});
