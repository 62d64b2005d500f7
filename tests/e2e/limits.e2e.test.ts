import { BEARER_SUBPROTOCOL, ErrorBody } from '@orderflow/platform';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type HttpResult, type TestSystem, eventually, placeOrder, request, startTestSystem, tokenFor } from './harness.ts';

// Small limits so that a test reaches them: 3 orders and 2 cancellations per customer a
// minute, 1 KiB WebSocket messages, 2 live connections per address and 3 in all.
const LIMITS = {
  ORDER_RATE_LIMIT: '3',
  CANCEL_RATE_LIMIT: '2',
  WS_MAX_MESSAGE_BYTES: '1024',
  LIVE_MAX_CONNECTIONS_PER_IP: '2',
  LIVE_MAX_CONNECTIONS: '3',
};

/** A 4xx/5xx in the documented shape whose message names the field. */
function expectRefusal(response: { status: number; body: unknown }, status: number, field: string) {
  expect(response.status).toBe(status);
  const body = ErrorBody.strict().safeParse(response.body);
  expect(body.error?.issues ?? [], JSON.stringify(response.body)).toEqual([]);
  expect(body.data?.message).toContain(field);
}

function expectRetryAfter(response: HttpResult) {
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

type Outcome = { open: WebSocket } | { status: number; body: unknown };

/**
 * A WebSocket from a given loopback address (127.0.0.0/8 is all this host's), as the
 * operator (`/ws` is theirs; the token as a browser sends it): open, or the HTTP refusal.
 */
async function connect(url: string, localAddress = '127.0.0.1'): Promise<Outcome> {
  const token = await tokenFor('operator');
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, [BEARER_SUBPROTOCOL, token], { localAddress });
    socket.once('open', () => resolve({ open: socket }));
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    socket.once('error', reject);
  });
}

/** An SSE stream from a given address, as the operator (the token in the query, as an EventSource sends it): open (its response), or the refusal. */
async function openEvents(url: string, localAddress = '127.0.0.1'): Promise<{ status: number; body: unknown; close: () => void }> {
  const token = await tokenFor('operator');
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}?access_token=${token}`, { localAddress }, (response) => {
      const close = () => req.destroy();
      if (response.statusCode === 200) return resolve({ status: 200, body: undefined, close });
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text), close }));
    });
    req.once('error', reject);
    req.end();
  });
}

const opened = (outcome: Outcome): WebSocket => {
  if (!('open' in outcome)) throw new Error(`expected the WebSocket to open, got ${outcome.status} ${JSON.stringify(outcome.body)}`);
  return outcome.open;
};
const closed = (socket: WebSocket) =>
  new Promise<number>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve(1006) : socket.once('close', (code) => resolve(code))));

describe('limits: WebSocket messages, live connections, orders and cancellations per customer', () => {
  let t: TestSystem;
  let ws = '';
  beforeAll(async () => {
    t = await startTestSystem(LIMITS);
    ws = t.urls.status!.replace(/^http/, 'ws');
  });
  afterAll(() => t?.stop());

  it('a WebSocket message above WS_MAX_MESSAGE_BYTES closes that connection; the service keeps answering', async () => {
    const socket = opened(await connect(`${ws}/ws`));
    const code = closed(socket);
    socket.send(JSON.stringify({ type: 'ping', padding: 'x'.repeat(2_000) }));
    // 1009 (message too big) when the close frame arrives before the socket is cut, else 1006.
    expect([1009, 1006]).toContain(await code);

    const next = opened(await eventually(async () => connect(`${ws}/ws`), 'a new connection after the refused one'));
    const pong = new Promise((resolve) => next.on('message', (raw) => String(raw).includes('pong') && resolve(JSON.parse(String(raw)))));
    next.send(JSON.stringify({ type: 'ping' }));
    expect(await pong).toEqual({ type: 'pong' });
    next.close();
    await closed(next);
  });

  it('live connections are bounded per address (429) and in all (503), WebSocket and SSE together, and freed on close', async () => {
    // A plain GET of the WebSocket route (no upgrade) holds no stream and takes no place.
    for (let i = 0; i < 3; i++) expect((await request(`${t.urls.status}/ws`)).status).toBe(404);
    const first = opened(await connect(`${ws}/ws`));
    const events = await openEvents(`${t.urls.status}/events`);
    expect(events.status).toBe(200);

    const third = await connect(`${ws}/ws`);
    expectRefusal('open' in third ? { status: 101, body: {} } : third, 429, 'connections');
    expectRefusal(await openEvents(`${t.urls.status}/events/some-order`), 429, 'connections');

    // Another address still gets in, up to the total.
    const other = opened(await connect(`${ws}/ws`, '127.0.0.2'));
    const overTotal = await connect(`${ws}/ws/some-order`, '127.0.0.3');
    expectRefusal('open' in overTotal ? { status: 101, body: {} } : overTotal, 503, 'connections');

    // Closing one frees its place.
    first.close();
    await closed(first);
    const again = await eventually(async () => {
      const outcome = await connect(`${ws}/ws`);
      return 'open' in outcome ? outcome.open : undefined;
    }, 'a place freed by the closed connection');
    for (const socket of [again, other]) {
      socket.close();
      await closed(socket);
    }
    events.close();
  });

  it('a customer placing more than ORDER_RATE_LIMIT orders a minute gets 429 with Retry-After, on every order route; others do not', async () => {
    const line = { productId: 'product-1', quantity: 1 };
    // Refused requests do not count.
    for (let i = 0; i < 4; i++) expect((await placeOrder(t.urls, { customerId: 'flood', items: [{ productId: 'product-1', quantity: 0 }] })).status).toBe(400);
    for (let i = 0; i < 3; i++) expect((await placeOrder(t.urls, { customerId: 'flood', items: [line] })).status).toBe(202);

    const refused = await placeOrder(t.urls, { customerId: 'flood', items: [line] });
    expectRefusal(refused, 429, 'body.customerId');
    expectRetryAfter(refused);
    expectRefusal(await placeOrder(t.urls, { userId: 'flood', items: [{ sku: 'ABC-001', qty: 1 }] }, '/api/orders'), 429, 'body.customerId');

    expect((await placeOrder(t.urls, { customerId: 'calm', items: [line] })).status).toBe(202);
  });

  it("more than CANCEL_RATE_LIMIT cancellations of one customer's orders a minute gets 429 with Retry-After", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await placeOrder(t.urls, { customerId: 'fickle', items: [{ productId: 'product-2', quantity: 1 }] })).body.orderId);
    for (const orderId of ids.slice(0, 2)) {
      const cancelled = await request(`${t.urls.order}/orders/${orderId}/cancel`, { method: 'POST' });
      // 409 when the saga finished first: either way the attempt counts.
      expect([202, 409]).toContain(cancelled.status);
    }
    const refused = await request(`${t.urls.order}/orders/${ids[2]}/cancel`, { method: 'POST' });
    expectRefusal(refused, 429, 'params.orderId');
    expectRetryAfter(refused);
  });

  it("a signed-in customer is counted by their token's subject: cancelling another customer's orders spends their own allowance, not the owner's", async () => {
    const owner = await tokenFor({ customerId: 'owner' });
    const prowler = await tokenFor({ customerId: 'prowler' });
    const placed = await placeOrder(t.urls, { customerId: 'owner', items: [{ productId: 'product-2', quantity: 1 }] }, '/orders', {}, owner);
    expect(placed.status).toBe(202);
    const cancel = (token: string) => request(`${t.urls.order}/orders/${placed.body.orderId}/cancel`, { method: 'POST', token });
    // Not theirs: 404, counted on the prowler, until their own allowance is spent.
    for (let i = 0; i < 2; i++) expect((await cancel(prowler)).status).toBe(404);
    expectRefusal(await cancel(prowler), 429, 'params.orderId');
    expect([202, 409]).toContain((await cancel(owner)).status);
  });
});
