import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type TestSystem, eventually, request, sagaMode, startTestSystem, tokenFor, waitForView } from './harness.ts';

/**
 * Every route, tried as an anonymous caller, as another customer, as the order's owner and
 * as an operator, on a system in production mode with real tokens from the run's issuer.
 * Another customer's order answers 404, as an unknown one does (no hint which ids exist).
 */
type Who = 'anonymous' | 'other' | 'owner' | 'operator';
const CALLERS: readonly Who[] = ['anonymous', 'other', 'owner', 'operator'];
const OWNER = 'authz-alice';
const OTHER = 'authz-bob';
/** The UI's origin in this system (ALLOWED_ORIGINS). */
const UI_ORIGIN = 'http://ui.orderflow.test';

let t: TestSystem;
const tokens = {} as Record<Who, string | null>;
let orderId = '';

const item = { productId: 'product-1', quantity: 1 };
const status = async (url: string, who: Who, init: { method?: string; body?: unknown } = {}) => (await request(url, { ...init, token: tokens[who] })).status;

/** The HTTP status a WebSocket upgrade is refused with, or 'open'. The token travels as a browser sends it: as a subprotocol. */
function socketAnswer(url: string, who: Who): Promise<number | 'open'> {
  const token = tokens[who];
  const socket = new WebSocket(url, token ? ['bearer', token] : []);
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

/** An SSE stream's answer: the token in the query, as an EventSource sends it. */
async function streamAnswer(url: string, who: Who): Promise<number> {
  const abort = new AbortController();
  const token = tokens[who];
  const response = await fetch(token ? `${url}?access_token=${token}` : url, { signal: abort.signal });
  abort.abort();
  return response.status;
}

/** A raw request with the given Host header (fetch does not let one set it). */
function withHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  // Shipping waits a second, so that fresh orders are still cancellable when the cancel cases run.
  t = await startTestSystem({ AUTH_MODE: 'production', ALLOWED_ORIGINS: UI_ORIGIN, SHIPPING_DELAY_MS: '1000' });
  tokens.anonymous = null;
  tokens.other = await tokenFor({ customerId: OTHER });
  tokens.owner = await tokenFor({ customerId: OWNER });
  tokens.operator = await tokenFor('operator');
  const placed = await request<{ orderId: string }>(`${t.urls.order}/orders`, { body: { customerId: OWNER, items: [item] }, token: tokens.owner });
  expect(placed.status).toBe(202);
  orderId = placed.body.orderId;
  await waitForView(t.urls, orderId, (view) => view.status !== 'PENDING');
  for (const path of [`${t.urls.payment}/payments/${orderId}`, `${t.urls.shipping}/shipments/${orderId}`]) {
    await eventually(async () => ((await request(path)).status === 200 ? true : undefined), path);
  }
});
afterAll(() => t.stop());

/** Per caller (anonymous, another customer, the owner, an operator): the status each gets. */
type Row = [name: string, attempt: (who: Who) => Promise<number | 'open'>, expected: readonly (number | 'open')[]];

const OPERATORS_ONLY = [401, 403, 403, 200] as const;

describe(`authorization in production mode (${sagaMode})`, () => {
  it('every route answers each caller as the rules say', async () => {
    const u = t.urls;
    const rows: Row[] = [
      ['GET /health (each service)', async (who) => Math.max(...(await Promise.all(Object.values(u).map((base) => status(`${base}/health`, who))))), [200, 200, 200, 200]],
      ['GET /ready', (who) => status(`${u.order}/ready`, who), [200, 200, 200, 200]],
      ['GET /metrics (open by default: METRICS_ACCESS)', (who) => status(`${u.order}/metrics`, who), [200, 200, 200, 200]],
      ['GET /docs (closed in production: DOCS_ACCESS)', (who) => status(`${u.order}/docs`, who), [401, 403, 403, 200]],
      ['GET /openapi.json', (who) => status(`${u.inventory}/openapi.json`, who), OPERATORS_ONLY],
      ['POST /orders for the owner', (who) => status(`${u.order}/orders`, who, { body: { customerId: OWNER, items: [item] } }), [401, 403, 202, 202]],
      ['POST /order (document 001)', (who) => status(`${u.order}/order`, who, { body: { customerId: OWNER, items: [item] } }), [401, 403, 202, 202]],
      ['POST /api/orders (document 002)', (who) => status(`${u.order}/api/orders`, who, { body: { userId: OWNER, items: [{ sku: 'product-1', qty: 1 }] } }), [401, 403, 202, 202]],
      ['GET /orders/:id', (who) => status(`${u.order}/orders/${orderId}`, who), [401, 404, 200, 200]],
      ['GET /orders', (who) => status(`${u.order}/orders`, who), OPERATORS_ONLY],
      ['GET /inventory', (who) => status(`${u.inventory}/inventory`, who), [200, 200, 200, 200]],
      ['GET /inventory/:productId', (who) => status(`${u.inventory}/inventory/product-1`, who), [200, 200, 200, 200]],
      ['POST /inventory/:productId/restock', (who) => status(`${u.inventory}/inventory/product-1/restock`, who, { body: { quantity: 1 } }), OPERATORS_ONLY],
      ['GET /payments/:id', (who) => status(`${u.payment}/payments/${orderId}`, who), [401, 404, 200, 200]],
      // Shipping keeps no customer id: customers read the tracking number on their order.
      ['GET /shipments/:id', (who) => status(`${u.shipping}/shipments/${orderId}`, who), [401, 403, 403, 200]],
      ['GET /notifications', (who) => status(`${u.notification}/notifications`, who), OPERATORS_ONLY],
      ['GET /status/:id', (who) => status(`${u.status}/status/${orderId}`, who), [401, 404, 200, 200]],
      ['GET /status', (who) => status(`${u.status}/status`, who), OPERATORS_ONLY],
      ['GET /stats (the dashboard totals)', (who) => status(`${u.status}/stats`, who), OPERATORS_ONLY],
      ['GET /inventory (status)', (who) => status(`${u.status}/inventory`, who), [200, 200, 200, 200]],
      ['WebSocket /ws/:id', (who) => socketAnswer(`${u.status!.replace('http', 'ws')}/ws/${orderId}`, who), [401, 404, 'open', 'open']],
      ['WebSocket /ws', (who) => socketAnswer(`${u.status!.replace('http', 'ws')}/ws`, who), [401, 403, 403, 'open']],
      ['SSE /events/:id', (who) => streamAnswer(`${u.status}/events/${orderId}`, who), [401, 404, 200, 200]],
      ['SSE /events', (who) => streamAnswer(`${u.status}/events`, who), OPERATORS_ONLY],
    ];
    for (const service of ['inventory', 'payment', 'shipping'] as const) {
      rows.push([`GET ${service} /admin/failure-injection`, (who) => status(`${u[service]}/admin/failure-injection`, who), OPERATORS_ONLY]);
      const unchanged = service === 'inventory' ? { failOnInjectedSku: true } : { failureRate: 0 };
      rows.push([`PUT ${service} /admin/failure-injection`, (who) => status(`${u[service]}/admin/failure-injection`, who, { method: 'PUT', body: unchanged }), OPERATORS_ONLY]);
    }
    for (const [service, base] of Object.entries(u)) {
      rows.push([`GET ${service} /admin/dead-letters`, (who) => status(`${base}/admin/dead-letters`, who), OPERATORS_ONLY]);
      rows.push([`POST ${service} /admin/dead-letters/:id/replay`, (who) => status(`${base}/admin/dead-letters/999999/replay`, who, { method: 'POST' }), [401, 403, 403, 404]]);
      rows.push([`POST ${service} /admin/dead-letters/:id/discard`, (who) => status(`${base}/admin/dead-letters/999999/discard`, who, { method: 'POST' }), [401, 403, 403, 404]]);
    }
    if (sagaMode === 'orchestration') {
      rows.push(['GET /sagas', (who) => status(`${u.orchestrator}/sagas`, who), OPERATORS_ONLY]);
      rows.push(['GET /sagas/:id', (who) => status(`${u.orchestrator}/sagas/${orderId}`, who), OPERATORS_ONLY]);
    }

    const answers: string[] = [];
    const expected: string[] = [];
    for (const [name, attempt, wanted] of rows) {
      const got: (number | 'open')[] = [];
      for (const who of CALLERS) got.push(await attempt(who));
      answers.push(`${name}: ${got.join(' ')}`);
      expected.push(`${name}: ${wanted.join(' ')}`);
    }
    // One comparison, so that a failure shows every route that answered otherwise.
    expect(answers).toEqual(expected);
  });

  it('a customer cancels only their own order; an operator any', async () => {
    const place = async () => (await request<{ orderId: string }>(`${t.urls.order}/orders`, { body: { customerId: OWNER, items: [item] }, token: tokens.owner })).body.orderId;
    const cancel = (id: string, who: Who) => status(`${t.urls.order}/orders/${id}/cancel`, who, { method: 'POST' });
    const mine = await place();
    expect(await cancel(mine, 'anonymous')).toBe(401);
    expect(await cancel(mine, 'other')).toBe(404);
    expect(await cancel(mine, 'owner')).toBe(202);
    expect(await cancel(await place(), 'operator')).toBe(202);
  });

  it('a customer cannot place an order in another customer\'s name', async () => {
    const response = await request(`${t.urls.order}/orders`, { body: { customerId: OWNER, items: [item] }, token: tokens.other });
    expect(response.status).toBe(403);
    expect(response.body).toEqual({ error: 'FORBIDDEN', message: `body.customerId: must be your own customer id ${OTHER} (the token's subject), not ${OWNER}` });
  });

  it('a customer following their own order live gets its updates', async () => {
    const socket = new WebSocket(`${t.urls.status!.replace('http', 'ws')}/ws/${orderId}`, ['bearer', tokens.owner!]);
    const first = await new Promise<{ type: string; order?: { orderId: string } }>((resolve, reject) => {
      socket.once('message', (raw) => resolve(JSON.parse(String(raw))));
      socket.once('error', reject);
    });
    socket.close();
    expect(first.type).toBe('order_update');
    expect(first.order?.orderId).toBe(orderId);
  });

  it("a state-changing request from another site's page is refused, with the owner's token too, and the order stays", async () => {
    const id = (await request<{ orderId: string }>(`${t.urls.order}/orders`, { body: { customerId: OWNER, items: [item] }, token: tokens.owner })).body.orderId;
    for (const token of [null, tokens.owner]) {
      const response = await request(`${t.urls.order}/orders/${id}/cancel`, { method: 'POST', token, headers: { origin: 'https://evil.example' } });
      expect(response.status).toBe(403);
      expect(response.body.error).toBe('CROSS_SITE_REQUEST');
    }
    expect((await request(`${t.urls.order}/orders/${id}`)).body.status).not.toBe('CANCELLED');
    const fromUi = await request(`${t.urls.order}/orders/${id}/cancel`, { method: 'POST', token: tokens.owner, headers: { origin: UI_ORIGIN } });
    expect(fromUi.status).toBe(202);
  });

  it('answers only to its configured host names (DNS rebinding), probes excepted', async () => {
    expect(await withHost(`${t.urls.order}/orders/${orderId}`, 'evil.example')).toBe(403);
    expect(await withHost(`${t.urls.order}/health`, '10.1.2.3')).toBe(200);
  });
});

describe(`development mode (${sagaMode})`, () => {
  let dev: TestSystem;
  beforeAll(async () => {
    dev = await startTestSystem({ SHIPPING_DELAY_MS: '1000' });
  });
  afterAll(() => dev.stop());

  it('the documents\' requests work without a token, operator routes do not, and a cross-site cancel does not cancel', async () => {
    const placed = await request<{ orderId: string }>(`${dev.urls.order}/orders`, { body: { customerId: 'dev-anon', items: [item] }, token: null });
    expect(placed.status).toBe(202);
    const id = placed.body.orderId;
    expect((await request(`${dev.urls.order}/orders/${id}`, { token: null })).status).toBe(200);
    expect((await request(`${dev.urls.order}/orders`, { token: null })).status).toBe(401);
    expect((await request(`${dev.urls.payment}/admin/failure-injection`, { method: 'PUT', body: { failureRate: 1 }, token: null })).status).toBe(401);
    // What fetch(url, {method: 'POST', mode: 'no-cors'}) sends from any page.
    const crossSite = await fetch(`${dev.urls.order}/orders/${id}/cancel`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect((await request(`${dev.urls.order}/orders/${id}`, { token: null })).body.status).not.toBe('CANCELLED');
    expect((await request(`${dev.urls.order}/orders/${id}/cancel`, { method: 'POST', token: null })).status).toBe(202);
  });
});
