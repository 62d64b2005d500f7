import { MAX_STOCK } from '@orderflow/contracts';
import { ErrorBody } from '@orderflow/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, createTestDatabase, findTestPostgres } from '../../packages/platform/src/database/test-databases.ts';
import { type HttpResult, type TestSystem, e2eTarget, placeOrder, request, sagaMode, sleep, startTestSystem, stockOf } from './harness.ts';

// The same cases on both databases: PostgreSQL refuses text SQLite stores (NUL, lone
// surrogates) and holds less stock, and the answer must not depend on which one runs.
// The cluster target always runs on PostgreSQL. Without a reachable server the
// PostgreSQL run is skipped with one line, unless REQUIRE_SERVICES=1.
const { url: serverUrl } = e2eTarget === 'cluster' ? { url: undefined } : await findTestPostgres();
const DATABASES: Array<{ name: string; postgres: boolean }> =
  e2eTarget === 'cluster' ? [{ name: 'PostgreSQL (cluster)', postgres: false }] : [{ name: 'SQLite', postgres: false }, { name: 'PostgreSQL', postgres: true }];

/** The documented error shape, {error, message, issues?}, and nothing else. */
function expectErrorShape(response: HttpResult, status: number, field: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = ErrorBody.strict().safeParse(response.body);
  expect(body.error?.issues ?? [], JSON.stringify(response.body)).toEqual([]);
  expect(body.data?.message).toContain(field);
}

for (const database of DATABASES) {
  describe.skipIf(database.postgres && !serverUrl)(`bad input on ${database.name} gets a 4xx that names the field and rule, and writes nothing`, () => {
    let t: TestSystem;
    let testDatabase: TestDatabase | undefined;
    beforeAll(async () => {
      if (database.postgres) testDatabase = await createTestDatabase(serverUrl ?? '');
      t = await startTestSystem(testDatabase ? { DATABASE_URL: testDatabase.url, DATABASE_POOL_SIZE: '4' } : {});
    });
    afterAll(async () => {
      await t?.stop();
      await testDatabase?.drop();
    });

    const ordersCount = async () => (await request<{ total: number }>(`${t.urls.order}/orders`)).body.total;
    const ordersTopic = async () => (await t.bus.readAll('orders')).length;
    const line = { productId: 'product-1', quantity: 1 };

    const cases: Array<[string, { raw?: string; body?: unknown; headers?: Record<string, string> }, number, string]> = [
      ['malformed JSON', { raw: '{"customerId": "x", "items": [' }, 400, 'body'],
      ['a string quantity', { body: { customerId: 'x', items: [{ productId: 'product-1', quantity: 'two' }] } }, 400, 'body.items.0.quantity'],
      ['a zero quantity', { body: { customerId: 'x', items: [{ productId: 'product-1', quantity: 0 }] } }, 400, 'body.items.0.quantity'],
      ['a negative quantity', { body: { customerId: 'x', items: [{ productId: 'product-1', quantity: -3 }] } }, 400, 'body.items.0.quantity'],
      ['a fractional quantity', { body: { customerId: 'x', items: [{ productId: 'product-1', quantity: 1.5 }] } }, 400, 'body.items.0.quantity'],
      ['an unknown product', { body: { customerId: 'x', items: [{ productId: 'no-such-product', quantity: 1 }] } }, 422, 'body.items.0.productId'],
      ['empty items', { body: { customerId: 'x', items: [] } }, 400, 'body.items'],
      ['no customer', { body: { items: [line] } }, 400, 'body.customerId'],
      ['a body that is an array', { body: [1, 2, 3] }, 400, 'body'],
      ['a wrong currency', { body: { customerId: 'x', currency: 'EUR', items: [line] } }, 422, 'body.currency'],
      ['an oversized body', { body: { customerId: 'x'.repeat(70_000), items: [line] } }, 413, 'body'],
      ['a NUL byte in the customer id', { body: { customerId: 'a\u0000b', items: [line] } }, 400, 'body.customerId'],
      ['a NUL byte in the document-002 user id', { body: { userId: '\u0000', items: [{ sku: 'ABC-001', qty: 1 }] } }, 400, 'body.userId'],
      ['a NUL byte in a product id', { body: { customerId: 'x', items: [{ productId: 'product-1\u0000', quantity: 1 }] } }, 400, 'body.items.0.productId'],
      ['a lone surrogate in the customer id', { raw: '{"customerId":"a\\ud800","items":[{"productId":"product-1","quantity":1}]}' }, 400, 'body.customerId'],
      ['a customer id of only a zero-width space', { body: { customerId: '\u200b', items: [line] } }, 400, 'body.customerId'],
      ['a customer id of zero-width joiners and spaces', { body: { customerId: ' \u200d\ufeff ', items: [line] } }, 400, 'body.customerId'],
    ];

    for (const [name, input, status, field] of cases) {
      it(`${name} → ${status} naming ${field}`, async () => {
        const [countBefore, topicBefore] = [await ordersCount(), await ordersTopic()];
        const response = await request(`${t.urls.order}/orders`, { ...input, method: 'POST' });
        expectErrorShape(response, status, field);
        await sleep(20);
        expect(await ordersCount()).toBe(countBefore);
        expect(await ordersTopic()).toBe(topicBefore);
      });
    }

    // A NUL byte in a path or query parameter, on every service that reads one from its database.
    const parameterCases: Array<[string, string, string, string]> = [
      ['GET', 'order', '/orders/%00', 'params.orderId'],
      ['POST', 'order', '/orders/%00/cancel', 'params.orderId'],
      ['GET', 'inventory', '/inventory/%00', 'params.productId'],
      ['GET', 'payment', '/payments/%00', 'params.orderId'],
      ['GET', 'shipping', '/shipments/%00', 'params.orderId'],
      ['GET', 'notification', '/notifications?orderId=%00', 'querystring.orderId'],
      ['GET', 'status', '/status/%00', 'params.orderId'],
      ['GET', 'orchestrator', '/sagas/a%00b', 'params.orderId'],
    ];
    // The orchestrator runs in orchestration mode only.
    for (const [method, service, path, field] of parameterCases.filter(([, service]) => service !== 'orchestrator' || sagaMode === 'orchestration')) {
      it(`${method} ${service} ${path} → 400 naming ${field}`, async () => {
        const response = await request(`${t.urls[service]}${path}`, { method });
        expectErrorShape(response, 400, field);
      });
    }

    it('a NUL byte in the restock path is refused before the body is read', async () => {
      const response = await request(`${t.urls.inventory}/inventory/%00/restock`, { body: { quantity: 1 } });
      expectErrorShape(response, 400, 'params.productId');
    });

    it('a restock that would take stock past what the database holds → 422 naming body.quantity, and stock stays', async () => {
      const before = await stockOf(t.urls, 'product-1');
      const response = await request(`${t.urls.inventory}/inventory/product-1/restock`, { body: { quantity: MAX_STOCK } });
      expectErrorShape(response, 422, 'body.quantity');
      expect(response.body.message).toContain(String(MAX_STOCK));
      expect(await stockOf(t.urls, 'product-1')).toBe(before);
    });

    it('a restock up to the most a product can hold is accepted, one more is refused', async () => {
      const before = await stockOf(t.urls, 'product-2');
      const filled = await request(`${t.urls.inventory}/inventory/product-2/restock`, { body: { quantity: MAX_STOCK - before } });
      expect(filled.status).toBe(200);
      expect(filled.body.available).toBe(MAX_STOCK);
      expectErrorShape(await request(`${t.urls.inventory}/inventory/product-2/restock`, { body: { quantity: 1 } }), 422, 'body.quantity');
    });

    it('a non-JSON content type → 415 in the documented shape', async () => {
      const response = await request(`${t.urls.order}/orders`, { method: 'POST', raw: 'hello', headers: { 'content-type': 'text/plain' } });
      expectErrorShape(response, 415, 'content-type');
    });

    it('an unknown order id is a 404 naming the order', async () => {
      const response = await request(`${t.urls.order}/orders/nope`);
      expectErrorShape(response, 404, 'nope');
    });

    it('an unknown route → 404 in the documented shape', async () => {
      expectErrorShape(await request(`${t.urls.order}/no/such/route`), 404, '/no/such/route');
    });

    it('a percent-escape that is not UTF-8 → 400 in the documented shape', async () => {
      expectErrorShape(await request(`${t.urls.order}/orders/%ED%A0%80`), 400, 'url');
    });

    it('a path segment longer than the router takes → 414 in the documented shape', async () => {
      expectErrorShape(await request(`${t.urls.order}/orders/${'a'.repeat(200)}`), 414, 'url');
    });

    it('headers larger than the server takes → 431 in the documented shape', async () => {
      expectErrorShape(await request(`${t.urls.order}/orders`, { headers: { 'x-padding': 'a'.repeat(20_000) } }), 431, 'headers');
    });

    it('a bad restock quantity is a 400 naming the field', async () => {
      const response = await request(`${t.urls.inventory}/inventory/product-1/restock`, { body: { quantity: 0 } });
      expectErrorShape(response, 400, 'body.quantity');
    });

    it('a valid order is still accepted afterwards, an emoji customer id too', async () => {
      expect((await placeOrder(t.urls, { customerId: 'ok', items: [line] })).status).toBe(202);
      expect((await placeOrder(t.urls, { customerId: '😀', items: [line] })).status).toBe(202);
    });
  });
}
